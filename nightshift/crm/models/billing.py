"""Subscriptions and their billing terms, subscription actions, invoices, payments, penalties,
payment gateway requests and rated billing items."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from nightshift.core.models import AuditedModel
from nightshift.crm.choices import (
    BehaviourCode,
    BillingFrequency,
    BindingState,
    InvoiceState,
    PaymentGatewayRequestState,
    SubscriptionState,
)
from nightshift.crm.models.base import ReferenceData


class SubscriptionType(ReferenceData):
    """A kind of subscription (e.g. Residential TV, Business internet)."""

    class Meta(ReferenceData.Meta):
        verbose_name = _("subscription type")
        verbose_name_plural = _("subscription types")


class PricePlan(ReferenceData):
    """The price list a billing term charges from."""

    monthly_fee = models.DecimalField(_("monthly fee"), max_digits=12, decimal_places=2)

    class Meta(ReferenceData.Meta):
        verbose_name = _("price plan")
        verbose_name_plural = _("price plans")


class BillingTermScheme(ReferenceData):
    """A template of billing terms (e.g. Prepaid, Postpaid)."""

    class Meta(ReferenceData.Meta):
        verbose_name = _("billing term scheme")
        verbose_name_plural = _("billing term schemes")


class BindingPeriod(ReferenceData):
    """A contractual commitment length (e.g. 12 months)."""

    months = models.PositiveSmallIntegerField(_("months"))

    class Meta:
        ordering = ["months"]
        verbose_name = _("binding period")
        verbose_name_plural = _("binding periods")


class Subscription(AuditedModel):
    """A contact's subscription to a service. In short term deactivation it is "short term not
    effective" until its end date, when it becomes effective again unless the activation
    conditions of its effective billing term are not met."""

    number = models.CharField(_("number"), max_length=40, unique=True)
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        on_delete=models.PROTECT,
        related_name="subscriptions",
    )
    subscription_type = models.ForeignKey(
        SubscriptionType,
        verbose_name=_("subscription type"),
        on_delete=models.PROTECT,
        related_name="subscriptions",
    )
    state = models.CharField(
        _("life cycle state"),
        max_length=32,
        choices=SubscriptionState,
        default=SubscriptionState.DRAFT,
    )
    activated_on = models.DateField(_("activated on"), null=True, blank=True)
    short_term_start_date = models.DateField(
        _("short term deactivation start date"), null=True, blank=True
    )
    short_term_end_date = models.DateField(
        _("short term deactivation end date"), null=True, blank=True
    )
    deactivated_on = models.DateField(_("deactivated on"), null=True, blank=True)

    class Meta:
        ordering = ["number"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        indexes = [
            models.Index(fields=["state", "short_term_end_date"], name="crm_sub_short_term_end"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state=SubscriptionState.SHORT_TERM_NOT_EFFECTIVE)
                | Q(short_term_end_date__isnull=False, short_term_start_date__isnull=False),
                name="crm_sub_short_term_has_period",
                violation_error_message=_(
                    "A subscription in short term deactivation needs its start and end dates."
                ),
            ),
            models.CheckConstraint(
                condition=Q(short_term_end_date__isnull=True)
                | Q(short_term_end_date__gte=models.F("short_term_start_date")),
                name="crm_sub_short_term_ends_after_start",
                violation_error_message=_(
                    "The short term deactivation cannot end before it starts."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.number


class BillingTerm(AuditedModel):
    """How a subscription is billed for a period; exactly one is effective at a time."""

    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="billing_terms",
    )
    price_plan = models.ForeignKey(
        PricePlan, verbose_name=_("price plan"), on_delete=models.PROTECT, related_name="+"
    )
    scheme = models.ForeignKey(
        BillingTermScheme,
        verbose_name=_("billing term scheme"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    billing_frequency = models.CharField(
        _("billing frequency"),
        max_length=16,
        choices=BillingFrequency,
        default=BillingFrequency.MONTHLY,
    )
    binding_state = models.CharField(
        _("binding state"),
        max_length=16,
        choices=BindingState,
        default=BindingState.OUT_OF_BINDING,
    )
    binding_period = models.ForeignKey(
        BindingPeriod,
        verbose_name=_("binding period"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective to"), null=True, blank=True)
    is_effective = models.BooleanField(_("effective"), default=True)
    # Activation conditions: checked when the subscription leaves short term deactivation.
    requires_settled_balance = models.BooleanField(
        _("activation requires a settled balance"), default=True
    )
    max_unsettled_balance = models.DecimalField(
        _("maximum unsettled balance allowed"), max_digits=12, decimal_places=2, default=0
    )

    class Meta:
        ordering = ["subscription", "-effective_from"]
        verbose_name = _("billing term")
        verbose_name_plural = _("billing terms")
        constraints = [
            models.CheckConstraint(
                condition=Q(binding_state=BindingState.IN_BINDING) | Q(binding_period__isnull=True),
                name="crm_billing_term_binding_period_in_binding",
                violation_error_message=_(
                    "A binding period is allowed only when the binding state is in binding."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(binding_state=BindingState.IN_BINDING)
                | Q(binding_period__isnull=False),
                name="crm_billing_term_in_binding_has_period",
                violation_error_message=_("A billing term in binding needs its binding period."),
            ),
            models.UniqueConstraint(
                fields=["subscription"],
                condition=Q(is_effective=True),
                name="crm_billing_term_one_effective",
                violation_error_message=_("The subscription already has an effective term."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} · {self.price_plan_id} from {self.effective_from}"

    def activation_conditions_met(self, unsettled_balance: Decimal) -> bool:
        """Whether a subscription with this much unpaid may become effective again."""
        return not self.requires_settled_balance or unsettled_balance <= self.max_unsettled_balance


class SubscriptionActionType(AuditedModel):
    """Classifies subscription actions; custom types carry the behaviour they perform."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    behaviour_code = models.CharField(_("behaviour code"), max_length=32, choices=BehaviourCode)
    is_custom = models.BooleanField(_("custom"), default=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("subscription action type")
        verbose_name_plural = _("subscription action types")

    def __str__(self) -> str:
        return self.name


class SubscriptionSubActionType(AuditedModel):
    """A finer classification under a subscription action type."""

    action_type = models.ForeignKey(
        SubscriptionActionType,
        verbose_name=_("action type"),
        on_delete=models.CASCADE,
        related_name="sub_action_types",
    )
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        ordering = ["action_type", "name"]
        verbose_name = _("subscription sub-action type")
        verbose_name_plural = _("subscription sub-action types")
        constraints = [
            models.UniqueConstraint(
                fields=["action_type", "code"], name="crm_sub_action_type_code_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SubscriptionAction(AuditedModel):
    """Something done to a subscription (activate, deactivate, …), logged with its type."""

    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="actions",
    )
    behaviour_code = models.CharField(_("behaviour code"), max_length=32, choices=BehaviourCode)
    action_type = models.ForeignKey(
        SubscriptionActionType,
        verbose_name=_("action type"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    sub_action_type = models.ForeignKey(
        SubscriptionSubActionType,
        verbose_name=_("sub-action type"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    performed_on = models.DateField(_("performed on"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    process_run_number = models.PositiveBigIntegerField(
        _("process run number"), null=True, blank=True
    )

    class Meta:
        ordering = ["-performed_on", "-id"]
        verbose_name = _("subscription action")
        verbose_name_plural = _("subscription actions")
        indexes = [
            models.Index(
                fields=["subscription", "behaviour_code", "performed_on"],
                name="crm_sub_action_lookup",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_behaviour_code_display()} · {self.subscription_id}"

    def clean(self) -> None:
        if self.sub_action_type_id and self.sub_action_type.action_type_id != self.action_type_id:
            raise ValidationError(
                {"sub_action_type": _("The sub-action type does not belong to the action type.")}
            )
        if self.action_type_id and self.action_type.behaviour_code != self.behaviour_code:
            raise ValidationError(
                {"action_type": _("The action type performs a different behaviour.")}
            )


class Invoice(AuditedModel):
    """A bill to a contact; the balance is what is still owed, including penalties."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        on_delete=models.PROTECT,
        related_name="invoices",
    )
    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invoices",
    )
    state = models.CharField(
        _("state"), max_length=16, choices=InvoiceState, default=InvoiceState.POSTED
    )
    issued_on = models.DateField(_("issued on"))
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"), default=30)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    penalty_amount = models.DecimalField(_("penalties"), max_digits=14, decimal_places=2, default=0)
    balance = models.DecimalField(_("balance"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    reminder_at = models.DateTimeField(_("reminder at"), null=True, blank=True)

    class Meta:
        ordering = ["-issued_on", "code"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        indexes = [models.Index(fields=["state", "issued_on"], name="crm_invoice_open")]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0),
                name="crm_invoice_balance_not_negative",
                violation_error_message=_("The balance cannot be negative."),
            ),
            models.CheckConstraint(
                # SQLite compares decimals as floats (100.10 + 24.69 < 124.79 there); half a cent
                # of slack cannot admit a wrong two-decimal balance and absorbs the float error.
                condition=Q(
                    balance__lte=models.F("amount")
                    + models.F("penalty_amount")
                    + models.Value(Decimal("0.005"))
                ),
                name="crm_invoice_balance_within_total",
                violation_error_message=_("The balance cannot exceed the amount plus penalties."),
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="crm_invoice_amount_positive",
                violation_error_message=_("The invoice amount must be positive."),
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def due_on(self) -> datetime.date:
        return self.issued_on + datetime.timedelta(days=self.payment_terms_days)


class Payment(AuditedModel):
    """Money received against an invoice."""

    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="payments"
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    paid_at = models.DateTimeField(_("paid at"))
    method = models.CharField(_("method"), max_length=40, blank=True)
    reference = models.CharField(_("reference"), max_length=60, blank=True)

    class Meta:
        ordering = ["-paid_at"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="crm_payment_amount_positive",
                violation_error_message=_("A payment must be positive."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} on {self.invoice_id}"


class InvoicePenalty(AuditedModel):
    """A late-payment penalty charged on an invoice; at most one per invoice per day, so that
    running the past-due process twice the same day charges nothing twice."""

    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.CASCADE, related_name="penalties"
    )
    charged_on = models.DateField(_("charged on"))
    days_overdue = models.PositiveIntegerField(_("days overdue"))
    rule = models.CharField(_("rule"), max_length=40)
    rate = models.DecimalField(_("rate"), max_digits=8, decimal_places=4)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["-charged_on"]
        verbose_name = _("invoice penalty")
        verbose_name_plural = _("invoice penalties")
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "charged_on"],
                name="crm_penalty_once_a_day",
                violation_error_message=_("A penalty was already charged today."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} on {self.invoice_id} ({self.charged_on})"


class PaymentGatewayRequest(AuditedModel):
    """A charge sent to a payment gateway (card, direct debit) and its answer."""

    reference = models.CharField(_("reference"), max_length=60, unique=True)
    gateway = models.CharField(_("gateway"), max_length=40)
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        on_delete=models.PROTECT,
        related_name="payment_gateway_requests",
    )
    invoice = models.ForeignKey(
        Invoice,
        verbose_name=_("invoice"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="gateway_requests",
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    state = models.CharField(
        _("state"),
        max_length=16,
        choices=PaymentGatewayRequestState,
        default=PaymentGatewayRequestState.PENDING,
    )
    requested_at = models.DateTimeField(_("requested at"))
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    response_code = models.CharField(_("response code"), max_length=20, blank=True)
    response_message = models.CharField(_("response message"), max_length=200, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("payment gateway request")
        verbose_name_plural = _("payment gateway requests")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="crm_gateway_amount_positive",
                violation_error_message=_("The amount must be positive."),
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class RatedBillingItem(AuditedModel):
    """A priced usage or fee line produced by rating, waiting to be invoiced."""

    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="rated_items",
    )
    product = models.ForeignKey(
        "crm.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    period_from = models.DateField(_("period from"))
    period_to = models.DateField(_("period to"))
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3, default=1)
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=4)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    rated_at = models.DateTimeField(_("rated at"))
    invoice = models.ForeignKey(
        Invoice,
        verbose_name=_("invoice"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rated_items",
    )

    class Meta:
        ordering = ["-rated_at"]
        verbose_name = _("rated billing item")
        verbose_name_plural = _("rated billing items")
        indexes = [models.Index(fields=["created_at"], name="crm_rated_item_created")]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_to__gte=models.F("period_from")),
                name="crm_rated_item_period",
                violation_error_message=_("The period cannot end before it starts."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.period_from}–{self.period_to}"


class AppliedAdditiveDiscount(AuditedModel):
    """A discount applied on top of a rated billing item."""

    rated_billing_item = models.ForeignKey(
        RatedBillingItem,
        verbose_name=_("rated billing item"),
        on_delete=models.CASCADE,
        related_name="discounts",
    )
    discount_code = models.CharField(_("discount code"), max_length=40)
    description = models.CharField(_("description"), max_length=200, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["rated_billing_item", "discount_code"]
        verbose_name = _("applied additive discount")
        verbose_name_plural = _("applied additive discounts")

    def __str__(self) -> str:
        return f"{self.discount_code} −{self.amount}"
