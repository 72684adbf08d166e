"""Customer events and what hangs off them, and provisioning requests: the high-volume records
that data archiving compresses once they are old."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from nightshift.archiving.references import ArchivedReferenceQuerySet, ReadOnlyWhenArchived
from nightshift.core.models import AuditedModel, AuditedQuerySet
from nightshift.crm.choices import CustomerEventKind, ProvisioningRequestState


class CustomerEventQuerySet(ArchivedReferenceQuerySet, AuditedQuerySet):
    pass


class CustomerEvent(ReadOnlyWhenArchived, AuditedModel):
    """Something a customer did that the rewards engine reacts to. The five kinds share one
    table: they are read, awarded and archived the same way, by kind and creation date.

    An event whose related event was archived keeps that event's id and archive, and is
    read-only until the archive is restored (``nightshift.archiving.references``)."""

    archived_references = {
        "related_event": ("archived_related_event", "archived_related_event_archive")
    }

    kind = models.CharField(_("kind"), max_length=24, choices=CustomerEventKind)
    reference = models.CharField(_("reference"), max_length=60)
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        related_name="customer_events",
    )
    occurred_at = models.DateTimeField(_("occurred at"))
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    product = models.ForeignKey(
        "crm.Product",
        verbose_name=_("product"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    invoice_code = models.CharField(_("invoice code"), max_length=40, blank=True)
    # A spend request or a statement may point at the event it concerns (e.g. a purchase).
    related_event = models.ForeignKey(
        "self",
        verbose_name=_("related event"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="dependent_events",
    )
    referred_contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("referred contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    archived_related_event = models.BigIntegerField(
        _("archived related event"), null=True, blank=True, editable=False, db_index=True
    )
    archived_related_event_archive = models.PositiveIntegerField(
        _("archive of the related event"), null=True, blank=True, editable=False
    )

    objects = CustomerEventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at"]
        verbose_name = _("customer event")
        verbose_name_plural = _("customer events")
        indexes = [
            models.Index(fields=["kind", "created_at"], name="crm_event_kind_created"),
            models.Index(fields=["contact", "occurred_at"], name="crm_event_contact_time"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "reference"],
                name="crm_event_reference_unique",
                violation_error_message=_("An event of this kind with this reference exists."),
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=[CustomerEventKind.PURCHASE, CustomerEventKind.SPEND_REQUEST])
                | Q(amount__isnull=False, amount__gt=0),
                name="crm_event_amount_for_money_kinds",
                violation_error_message=_("Purchases and spend requests need a positive amount."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.reference}"


class AwardedEvent(AuditedModel):
    """Reward points awarded to a participant because of a customer event."""

    customer_event = models.ForeignKey(
        CustomerEvent,
        verbose_name=_("customer event"),
        on_delete=models.CASCADE,
        related_name="awarded_events",
    )
    participant = models.ForeignKey(
        "crm.RewardParticipant",
        verbose_name=_("reward participant"),
        on_delete=models.CASCADE,
        related_name="awarded_events",
    )
    points = models.DecimalField(_("points"), max_digits=12, decimal_places=2)
    awarded_at = models.DateTimeField(_("awarded at"))
    expires_on = models.DateField(_("expires on"), null=True, blank=True)

    class Meta:
        ordering = ["-awarded_at"]
        verbose_name = _("awarded event")
        verbose_name_plural = _("awarded events")

    def __str__(self) -> str:
        return f"{self.points} for {self.customer_event_id}"


class SpendRewardTransaction(AuditedModel):
    """Points spent by a spend request customer event."""

    customer_event = models.ForeignKey(
        CustomerEvent,
        verbose_name=_("spend request"),
        on_delete=models.CASCADE,
        related_name="spend_transactions",
    )
    participant = models.ForeignKey(
        "crm.RewardParticipant",
        verbose_name=_("reward participant"),
        on_delete=models.CASCADE,
        related_name="spend_transactions",
    )
    points = models.DecimalField(_("points"), max_digits=12, decimal_places=2)
    spent_at = models.DateTimeField(_("spent at"))

    class Meta:
        ordering = ["-spent_at"]
        verbose_name = _("spend reward transaction")
        verbose_name_plural = _("spend reward transactions")
        constraints = [
            models.CheckConstraint(
                condition=Q(points__gt=0),
                name="crm_spend_points_positive",
                violation_error_message=_("Spent points must be positive."),
            ),
        ]

    def __str__(self) -> str:
        return f"-{self.points} by {self.customer_event_id}"


class ProvisioningRequest(AuditedModel):
    """An instruction sent to a provisioning system for a device or subscription."""

    reference = models.CharField(_("reference"), max_length=60, unique=True)
    action = models.CharField(_("action"), max_length=60)
    device = models.ForeignKey(
        "crm.Device",
        verbose_name=_("device"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="provisioning_requests",
    )
    subscription = models.ForeignKey(
        "crm.Subscription",
        verbose_name=_("subscription"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="provisioning_requests",
    )
    state = models.CharField(
        _("state"),
        max_length=16,
        choices=ProvisioningRequestState,
        default=ProvisioningRequestState.PENDING,
    )
    requested_at = models.DateTimeField(_("requested at"))
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    error_message = models.TextField(_("error message"), blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("provisioning request")
        verbose_name_plural = _("provisioning requests")
        indexes = [models.Index(fields=["created_at"], name="crm_provreq_created")]

    def __str__(self) -> str:
        return self.reference


class ProvisioningRequestParameter(AuditedModel):
    """A name/value pair sent with a provisioning request."""

    request = models.ForeignKey(
        ProvisioningRequest,
        verbose_name=_("provisioning request"),
        on_delete=models.CASCADE,
        related_name="parameters",
    )
    name = models.CharField(_("name"), max_length=80)
    value = models.CharField(_("value"), max_length=400, blank=True)

    class Meta:
        ordering = ["request", "name"]
        verbose_name = _("provisioning request parameter")
        verbose_name_plural = _("provisioning request parameters")
        constraints = [
            models.UniqueConstraint(
                fields=["request", "name"],
                name="crm_provreq_param_once",
                violation_error_message=_("This parameter is already set on the request."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
