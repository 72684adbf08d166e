"""What the business sells and installs: products, their families, devices and warehouses."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from nightshift.core.models import AuditedModel
from nightshift.crm.choices import DeviceState
from nightshift.crm.models.base import ReferenceData


class ProductFamily(ReferenceData):
    """A grouping of products; imports may create missing families."""

    class Meta(ReferenceData.Meta):
        verbose_name = _("product family")
        verbose_name_plural = _("product families")


class Product(AuditedModel):
    """A product or service the business sells."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=160)
    description = models.TextField(_("description"), blank=True)
    family = models.ForeignKey(
        ProductFamily,
        verbose_name=_("family"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="products",
    )
    is_service = models.BooleanField(_("service"), default=False)
    is_traceable = models.BooleanField(
        _("traceable"), default=False, help_text=_("Each unit has a serial number (a device).")
    )
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2, default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.CheckConstraint(
                condition=Q(unit_price__gte=0),
                name="crm_product_price_not_negative",
                violation_error_message=_("The unit price cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class Warehouse(ReferenceData):
    """A location where devices are stored (the manuals' "location / warehouse")."""

    address = models.CharField(_("address"), max_length=200, blank=True)

    class Meta(ReferenceData.Meta):
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")


class Device(AuditedModel):
    """A physical unit of a traceable product, identified by its serial number: in stock in a
    warehouse or installed at a customer (an installed item)."""

    serial_number = models.CharField(_("serial number"), max_length=80, unique=True)
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="devices"
    )
    warehouse = models.ForeignKey(
        Warehouse,
        verbose_name=_("location / warehouse"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="devices",
    )
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("installed at contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="devices",
    )
    state = models.CharField(
        _("state"), max_length=16, choices=DeviceState, default=DeviceState.IN_STOCK
    )
    installed_on = models.DateField(_("installed on"), null=True, blank=True)

    class Meta:
        ordering = ["serial_number"]
        verbose_name = _("device / installed item")
        verbose_name_plural = _("devices / installed items")
        constraints = [
            models.CheckConstraint(
                condition=~Q(state=DeviceState.INSTALLED) | Q(contact__isnull=False),
                name="crm_device_installed_has_contact",
                violation_error_message=_("An installed item must be installed at a contact."),
            ),
            models.CheckConstraint(
                condition=~Q(state=DeviceState.IN_STOCK) | Q(warehouse__isnull=False),
                name="crm_device_in_stock_has_warehouse",
                violation_error_message=_("A device in stock must be in a warehouse."),
            ),
        ]

    def __str__(self) -> str:
        return self.serial_number
