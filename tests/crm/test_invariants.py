"""Rules the manuals state about CRM records, enforced by the database so that no write path
(admin, API, import, bulk process) can break them."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from nightshift.crm import choices
from nightshift.crm.models import (
    Audience,
    BillingTerm,
    BillingTermScheme,
    BindingPeriod,
    ClassTransitionRule,
    Contact,
    CustomerClass,
    CustomerEvent,
    Device,
    Invoice,
    InvoicePenalty,
    Lead,
    Notification,
    PricePlan,
    Product,
    Subscription,
    SubscriptionAction,
    SubscriptionActionType,
    SubscriptionSubActionType,
    SubscriptionType,
    Voucher,
    Warehouse,
)
from nightshift.mail.models import SuppressionEntry

TODAY = datetime.date(2026, 11, 22)


def violates(message: str):
    """The write is refused by the database, and full_clean names the same rule."""
    return pytest.raises((IntegrityError, ValidationError), match=message)


@pytest.fixture
def contact(db) -> Contact:
    return Contact.objects.create(code="C-1", first_name="Ana", email="ana@example.com")


@pytest.fixture
def subscription(contact) -> Subscription:
    return Subscription.objects.create(
        number="S-1",
        contact=contact,
        subscription_type=SubscriptionType.objects.create(code="TV", name="TV"),
        state=choices.SubscriptionState.EFFECTIVE,
    )


@pytest.fixture
def term_parts(db):
    return {
        "price_plan": PricePlan.objects.create(code="P1", name="Basic", monthly_fee=10),
        "scheme": BillingTermScheme.objects.create(code="POST", name="Postpaid"),
    }


def test_binding_period_is_refused_unless_in_binding(subscription, term_parts):
    period = BindingPeriod.objects.create(code="12M", name="12 months", months=12)
    term = BillingTerm(
        subscription=subscription,
        binding_state=choices.BindingState.OUT_OF_BINDING,
        binding_period=period,
        effective_from=TODAY,
        **term_parts,
    )
    with pytest.raises(ValidationError, match="only when the binding state is in binding"):
        term.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        term.save()


def test_in_binding_term_needs_its_binding_period(subscription, term_parts):
    term = BillingTerm(
        subscription=subscription,
        binding_state=choices.BindingState.IN_BINDING,
        effective_from=TODAY,
        **term_parts,
    )
    with pytest.raises(ValidationError, match="needs its binding period"):
        term.full_clean()


def test_a_subscription_has_one_effective_billing_term(subscription, term_parts):
    BillingTerm.objects.create(subscription=subscription, effective_from=TODAY, **term_parts)
    with pytest.raises(IntegrityError), transaction.atomic():
        BillingTerm.objects.create(subscription=subscription, effective_from=TODAY, **term_parts)
    BillingTerm.objects.create(
        subscription=subscription, effective_from=TODAY, is_effective=False, **term_parts
    )
    assert subscription.billing_terms.count() == 2


def test_activation_conditions_compare_unsettled_balance_with_allowance(subscription, term_parts):
    strict = BillingTerm(subscription=subscription, effective_from=TODAY, **term_parts)
    assert strict.activation_conditions_met(Decimal("0"))
    assert not strict.activation_conditions_met(Decimal("0.01"))
    lenient = BillingTerm(requires_settled_balance=False, **term_parts)
    assert lenient.activation_conditions_met(Decimal("1000"))


def test_short_term_deactivation_needs_its_period(subscription):
    subscription.state = choices.SubscriptionState.SHORT_TERM_NOT_EFFECTIVE
    with pytest.raises(ValidationError, match="needs its start and end dates"):
        subscription.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        subscription.save()
    subscription.short_term_start_date = TODAY - datetime.timedelta(days=30)
    subscription.short_term_end_date = TODAY - datetime.timedelta(days=31)
    with pytest.raises(ValidationError, match="cannot end before it starts"):
        subscription.full_clean()


def test_sub_action_type_must_belong_to_the_action_type(subscription):
    deactivate = SubscriptionActionType.objects.create(
        code="DEACT-CUSTOM",
        name="Deactivate (custom)",
        behaviour_code=choices.BehaviourCode.DEACTIVATE,
        is_custom=True,
    )
    other = SubscriptionActionType.objects.create(
        code="ACT", name="Activate", behaviour_code=choices.BehaviourCode.ACTIVATE
    )
    foreign_sub_type = SubscriptionSubActionType.objects.create(
        action_type=other, code="X", name="X"
    )
    action = SubscriptionAction(
        subscription=subscription,
        behaviour_code=choices.BehaviourCode.DEACTIVATE,
        action_type=deactivate,
        sub_action_type=foreign_sub_type,
        performed_on=TODAY,
    )
    with pytest.raises(ValidationError, match="does not belong to the action type"):
        action.full_clean()


def test_action_type_must_perform_the_logged_behaviour(subscription):
    activate = SubscriptionActionType.objects.create(
        code="ACT", name="Activate", behaviour_code=choices.BehaviourCode.ACTIVATE
    )
    action = SubscriptionAction(
        subscription=subscription,
        behaviour_code=choices.BehaviourCode.DEACTIVATE,
        action_type=activate,
        performed_on=TODAY,
    )
    with pytest.raises(ValidationError, match="performs a different behaviour"):
        action.full_clean()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"balance": Decimal("-1")}, "balance cannot be negative"),
        ({"balance": Decimal("150")}, "cannot exceed the amount plus penalties"),
        ({"amount": Decimal("0"), "balance": Decimal("0")}, "amount must be positive"),
    ],
)
def test_invoice_balance_rules(contact, fields, message):
    values = {"amount": Decimal("100"), "balance": Decimal("100")} | fields
    invoice = Invoice(code="INV-1", contact=contact, issued_on=TODAY, **values)
    with pytest.raises(ValidationError, match=message):
        invoice.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        invoice.save()


def test_invoice_balance_may_include_penalties(contact):
    invoice = Invoice.objects.create(
        code="INV-1",
        contact=contact,
        issued_on=TODAY,
        amount=100,
        penalty_amount=Decimal("2.50"),
        balance=Decimal("102.50"),
    )
    assert invoice.due_on == TODAY + datetime.timedelta(days=30)


def test_balance_of_exactly_amount_plus_penalties_is_accepted_on_every_database(contact):
    # 100.10 + 24.69 is 124.78999… in floating point, which is how SQLite compares decimals.
    Invoice.objects.create(
        code="INV-F",
        contact=contact,
        issued_on=TODAY,
        amount=Decimal("100.10"),
        penalty_amount=Decimal("24.69"),
        balance=Decimal("124.79"),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(
            code="INV-G",
            contact=contact,
            issued_on=TODAY,
            amount=Decimal("100.10"),
            penalty_amount=Decimal("24.69"),
            balance=Decimal("124.80"),
        )


def test_a_penalty_is_charged_at_most_once_a_day(contact):
    invoice = Invoice.objects.create(
        code="INV-1", contact=contact, issued_on=TODAY, amount=100, balance=100
    )
    penalty = {"days_overdue": 5, "rule": "daily_rate", "rate": Decimal("0.01"), "amount": 1}
    InvoicePenalty.objects.create(invoice=invoice, charged_on=TODAY, **penalty)
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoicePenalty.objects.create(invoice=invoice, charged_on=TODAY, **penalty)
    InvoicePenalty.objects.create(
        invoice=invoice, charged_on=TODAY + datetime.timedelta(days=1), **penalty
    )
    assert invoice.penalties.count() == 2


def test_voucher_cannot_expire_before_it_is_valid(db):
    voucher = Voucher(code="V1", value=10, valid_from=TODAY, valid_to=TODAY - datetime.timedelta(1))
    with pytest.raises(ValidationError, match="cannot expire before it becomes valid"):
        voucher.full_clean()


def test_redeemed_voucher_needs_its_redemption_date(db):
    voucher = Voucher(
        code="V1",
        value=10,
        valid_from=TODAY,
        valid_to=TODAY,
        state=choices.VoucherState.REDEEMED,
    )
    with pytest.raises(ValidationError, match="needs its redemption date"):
        voucher.full_clean()


def test_installed_device_needs_a_contact_and_stock_needs_a_warehouse(db):
    product = Product.objects.create(code="STB", name="Set-top box", is_traceable=True)
    installed = Device(serial_number="SN1", product=product, state=choices.DeviceState.INSTALLED)
    with pytest.raises(ValidationError, match="must be installed at a contact"):
        installed.full_clean()
    in_stock = Device(serial_number="SN2", product=product)
    with pytest.raises(ValidationError, match="must be in a warehouse"):
        in_stock.full_clean()
    in_stock.warehouse = Warehouse.objects.create(code="W1", name="Main")
    in_stock.full_clean()


def test_purchases_and_spend_requests_need_a_positive_amount(contact):
    event = CustomerEvent(
        kind=choices.CustomerEventKind.PURCHASE,
        reference="P-1",
        contact=contact,
        occurred_at=timezone.now(),
    )
    with pytest.raises(ValidationError, match="need a positive amount"):
        event.full_clean()
    referral = CustomerEvent(
        kind=choices.CustomerEventKind.REFERRAL,
        reference="R-1",
        contact=contact,
        occurred_at=timezone.now(),
    )
    referral.full_clean()


def test_event_reference_is_unique_per_kind(contact):
    now = timezone.now()
    CustomerEvent.objects.create(
        kind=choices.CustomerEventKind.PURCHASE,
        reference="X-1",
        contact=contact,
        occurred_at=now,
        amount=5,
    )
    CustomerEvent.objects.create(
        kind=choices.CustomerEventKind.REFERRAL,
        reference="X-1",
        contact=contact,
        occurred_at=now,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerEvent.objects.create(
            kind=choices.CustomerEventKind.PURCHASE,
            reference="X-1",
            contact=contact,
            occurred_at=now,
            amount=7,
        )


def test_lead_in_nurture_needs_its_next_email_date(db):
    lead = Lead(code="L1", first_name="Bia", state=choices.LeadState.NURTURE)
    with pytest.raises(ValidationError, match="needs its next e-mail date"):
        lead.full_clean()


def test_blocking_notification_needs_a_deadline(operator):
    notification = Notification(
        user=operator, kind=choices.NotificationKind.BLOCKING, title="Follow up", subject_key="t:1"
    )
    with pytest.raises(ValidationError, match="needs a deadline"):
        notification.full_clean()


def test_only_one_open_notification_per_user_and_subject(operator):
    fields = {"user": operator, "kind": choices.NotificationKind.NON_BLOCKING, "title": "Call"}
    first = Notification.objects.create(subject_key="task:1", **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(subject_key="task:1", **fields)
    first.state = choices.NotificationState.ATTENDED
    first.save()
    Notification.objects.create(subject_key="task:1", **fields)  # a new reminder may open
    assert Notification.objects.filter(subject_key="task:1").count() == 2


def test_contact_needs_a_name_for_its_kind(db):
    with pytest.raises(ValidationError, match="company contact needs a company name"):
        Contact(code="C9", kind=choices.ContactKind.COMPANY).full_clean()
    with pytest.raises(ValidationError, match="person needs a first or a last name"):
        Contact(code="C9").full_clean()


def test_contact_email_is_stored_lower_case(db):
    contact = Contact.objects.create(code="C2", first_name="Ana", email=" Ana@Example.COM ")
    assert contact.email == "ana@example.com"


def test_suppression_entries_are_lower_case_and_unique(db):
    SuppressionEntry.objects.create(email="Bob@Example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        SuppressionEntry.objects.create(email="bob@example.COM")


def test_class_transition_rule_must_change_class_and_have_its_amount(db):
    gold = CustomerClass.objects.create(code="GOLD", name="Gold", rank=3)
    silver = CustomerClass.objects.create(code="SILVER", name="Silver", rank=2)
    same = ClassTransitionRule(
        name="noop",
        from_class=gold,
        to_class=gold,
        trigger=choices.ClassTransitionTrigger.NO_PURCHASE_FOR,
        months=6,
    )
    with pytest.raises(ValidationError, match="from and to classes must differ"):
        same.full_clean()
    no_amount = ClassTransitionRule(
        name="up",
        from_class=silver,
        to_class=gold,
        trigger=choices.ClassTransitionTrigger.PURCHASES_AT_LEAST,
        months=12,
    )
    with pytest.raises(ValidationError, match="needs an amount"):
        no_amount.full_clean()


def test_audience_selects_contacts_by_its_criteria(db):
    Contact.objects.create(code="A", first_name="Ana", city="Recife")
    Contact.objects.create(code="B", first_name="Bia", city="Natal")
    Contact.objects.create(
        code="C", first_name="Caio", city="recife", status=choices.ContactStatus.REJECTED
    )
    audience = Audience(
        name="Recife active", criteria={"city__iexact": "Recife", "status": "active"}
    )
    audience.full_clean()
    assert list(audience.contacts().values_list("code", flat=True)) == ["A"]


def test_audience_refuses_an_unknown_filter(db):
    audience = Audience(name="bad", criteria={"password": "x"})
    with pytest.raises(ValidationError, match="“password” is not a contact filter"):
        audience.full_clean()
