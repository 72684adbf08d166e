"""The built-in exporters: vouchers and payment gateway requests (the manuals' exports), and
contacts and products. Related records are exported by their code (or name where they have no
code), read with joins in the same query."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from nightshift.crm.models import Contact, PaymentGatewayRequest, Product, Voucher
from nightshift.exports.base import Column, Exporter, Filter
from nightshift.exports.registry import register_exporter

__all__ = ["ContactExporter", "PaymentGatewayRequestExporter", "ProductExporter", "VoucherExporter"]


@register_exporter
class ContactExporter(Exporter):
    key = "contacts"
    name = _("Contacts")
    model = Contact
    columns = (
        Column("code"),
        Column("kind"),
        Column("first_name"),
        Column("last_name"),
        Column("company_name"),
        Column("email"),
        Column("phone"),
        Column("birth_date"),
        Column("address"),
        Column("city"),
        Column("state_province"),
        Column("zip_code"),
        Column("country"),
        Column("language"),
        Column("classification", source="classification__name", label=_("Classification")),
        Column("status"),
        Column("customer_class", source="customer_class__code", label=_("Customer class")),
        Column("account_manager", source="account_manager__username", label=_("Account manager")),
        Column("first_purchase_date"),
        Column("first_purchase_amount"),
        Column("last_purchase_date"),
        Column("last_purchase_amount"),
        Column("accumulated_purchase_amount"),
        Column("accumulated_purchase_count"),
        Column("last_quotation_date"),
        Column("days_since_last_purchase"),
        Column("last_invoice_code"),
        Column("created_at"),
        Column("updated_at"),
    )
    filters = (
        Filter("status"),
        Filter("kind"),
        Filter("code", lookup="istartswith"),
        Filter("name", source="last_name", label=_("Last name")),
        Filter("email"),
        Filter("city"),
        Filter("country", lookup="iexact"),
        Filter("classification", source="classification__name", lookup="iexact"),
        Filter("customer_class", source="customer_class__code", lookup="iexact"),
        Filter("birth_date"),
        Filter("last_purchase_date"),
        Filter("accumulated_purchase_amount"),
        Filter("days_since_last_purchase"),
        Filter("created_at"),
    )


@register_exporter
class ProductExporter(Exporter):
    key = "products"
    name = _("Products")
    model = Product
    columns = (
        Column("code"),
        Column("name"),
        Column("description"),
        Column("family", source="family__code", label=_("Family")),
        Column("is_service"),
        Column("is_traceable"),
        Column("unit_price"),
        Column("is_active"),
        Column("created_at"),
        Column("updated_at"),
    )
    filters = (
        Filter("code", lookup="istartswith"),
        Filter("name"),
        Filter("family", source="family__code", lookup="iexact"),
        Filter("is_service"),
        Filter("is_traceable"),
        Filter("is_active"),
        Filter("unit_price"),
        Filter("created_at"),
    )


@register_exporter
class VoucherExporter(Exporter):
    key = "vouchers"
    name = _("Vouchers")
    model = Voucher
    columns = (
        Column("code"),
        Column("state"),
        Column("value"),
        Column("currency"),
        Column("contact", source="contact__code", label=_("Contact")),
        Column("valid_from"),
        Column("valid_to"),
        Column("redeemed_at"),
        Column("created_at"),
    )
    filters = (
        Filter("state"),
        Filter("code", lookup="istartswith"),
        Filter("contact", source="contact__code", lookup="iexact"),
        Filter("currency", lookup="iexact"),
        Filter("value"),
        Filter("valid_from"),
        Filter("valid_to"),
        Filter("redeemed_at"),
        Filter("created_at"),
    )


@register_exporter
class PaymentGatewayRequestExporter(Exporter):
    key = "payment_gateway_requests"
    name = _("Payment gateway requests")
    model = PaymentGatewayRequest
    columns = (
        Column("reference"),
        Column("gateway"),
        Column("contact", source="contact__code", label=_("Contact")),
        Column("invoice", source="invoice__code", label=_("Invoice")),
        Column("amount"),
        Column("currency"),
        Column("state"),
        Column("requested_at"),
        Column("responded_at"),
        Column("response_code"),
        Column("response_message"),
    )
    filters = (
        Filter("state"),
        Filter("gateway", lookup="iexact"),
        Filter("reference", lookup="istartswith"),
        Filter("contact", source="contact__code", lookup="iexact"),
        Filter("amount"),
        Filter("currency", lookup="iexact"),
        Filter("requested_at"),
        Filter("responded_at"),
        Filter("response_code", lookup="iexact"),
    )
