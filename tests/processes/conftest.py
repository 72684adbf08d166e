"""Factories for the processes' tests: reference data, subscriptions in short term
deactivation with their effective billing term, invoices, and action types."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from decimal import Decimal
from itertools import count

import pytest
import time_machine
from django.utils import timezone

from nightshift.crm.choices import (
    BehaviourCode,
    BillingFrequency,
    BindingState,
    InvoiceState,
    SubscriptionState,
)
from nightshift.crm.models import (
    BillingTerm,
    BillingTermScheme,
    BindingPeriod,
    Contact,
    Invoice,
    PricePlan,
    Subscription,
    SubscriptionAction,
    SubscriptionActionType,
    SubscriptionSubActionType,
    SubscriptionType,
)

TODAY = datetime.date(2026, 11, 22)


@pytest.fixture
def frozen_today() -> Iterator[datetime.date]:
    """The clock stopped at noon on ``TODAY`` in the project's zone; yields the local date."""
    noon = datetime.datetime.combine(
        TODAY, datetime.time(12), tzinfo=timezone.get_default_timezone()
    )
    with time_machine.travel(noon, tick=False):
        yield timezone.localdate()


@pytest.fixture
def refs(db) -> dict[str, object]:
    """Two of each reference record a criterion can name."""
    return {
        "TV": SubscriptionType.objects.create(code="TV", name="Residential TV"),
        "NET": SubscriptionType.objects.create(code="NET", name="Internet"),
        "BASIC": PricePlan.objects.create(code="BASIC", name="Basic", monthly_fee=10),
        "PREMIUM": PricePlan.objects.create(code="PREMIUM", name="Premium", monthly_fee=30),
        "POSTPAID": BillingTermScheme.objects.create(code="POSTPAID", name="Postpaid"),
        "PREPAID": BillingTermScheme.objects.create(code="PREPAID", name="Prepaid"),
        "12M": BindingPeriod.objects.create(code="12M", name="12 months", months=12),
        "24M": BindingPeriod.objects.create(code="24M", name="24 months", months=24),
    }


@pytest.fixture
def make_contact(db) -> Callable[..., Contact]:
    numbers = count(1)

    def make(**fields) -> Contact:
        number = next(numbers)
        return Contact.objects.create(code=f"C-{number}", first_name=f"Ana {number}", **fields)

    return make


@pytest.fixture
def make_subscription(refs, make_contact) -> Callable[..., Subscription]:
    """A subscription in short term deactivation ending ``end`` (default ``TODAY``), with an
    effective billing term built from ``term`` (``term=None``: no effective term)."""
    numbers = count(1)

    def make(
        *,
        end: datetime.date = TODAY,
        start: datetime.date | None = None,
        state: str = SubscriptionState.SHORT_TERM_NOT_EFFECTIVE,
        contact: Contact | None = None,
        subscription_type: str = "TV",
        term: dict | None = None,
        with_term: bool = True,
    ) -> Subscription:
        subscription = Subscription.objects.create(
            number=f"S-{next(numbers):04d}",
            contact=contact or make_contact(),
            subscription_type=refs[subscription_type],
            state=state,
            activated_on=end - datetime.timedelta(days=400),
            short_term_start_date=start or end - datetime.timedelta(days=30),
            short_term_end_date=end,
        )
        if with_term:
            options = {
                "price_plan": "BASIC",
                "scheme": "POSTPAID",
                "billing_frequency": BillingFrequency.MONTHLY,
                "binding_state": BindingState.OUT_OF_BINDING,
                "binding_period": None,
                **(term or {}),
            }
            BillingTerm.objects.create(
                subscription=subscription,
                price_plan=refs[options.pop("price_plan")],
                scheme=refs[options.pop("scheme")],
                binding_period=refs.get(options.pop("binding_period") or ""),
                effective_from=end - datetime.timedelta(days=400),
                **options,
            )
        return subscription

    return make


@pytest.fixture
def make_invoice(db) -> Callable[..., Invoice]:
    numbers = count(1)

    def make(contact: Contact, balance: str, *, state: str = InvoiceState.POSTED) -> Invoice:
        amount = max(Decimal(balance), Decimal("1.00"))
        return Invoice.objects.create(
            code=f"INV-{next(numbers):05d}",
            contact=contact,
            state=state,
            issued_on=TODAY - datetime.timedelta(days=45),
            amount=amount,
            balance=Decimal(balance),
        )

    return make


@pytest.fixture
def end_short_term(db) -> Callable[[Subscription, datetime.date], SubscriptionAction]:
    """Log an "end short term deactivation" action on a subscription."""

    def end(subscription: Subscription, on: datetime.date) -> SubscriptionAction:
        return SubscriptionAction.objects.create(
            subscription=subscription,
            behaviour_code=BehaviourCode.END_SHORT_TERM_DEACTIVATION,
            performed_on=on,
        )

    return end


@pytest.fixture
def custom_deactivate(db) -> SubscriptionSubActionType:
    """A custom deactivate action type with one sub-action type: makes the input settings
    mandatory."""
    action_type = SubscriptionActionType.objects.create(
        code="DEACT-NONPAY",
        name="Deactivation for non-payment",
        behaviour_code=BehaviourCode.DEACTIVATE,
        is_custom=True,
    )
    return SubscriptionSubActionType.objects.create(
        action_type=action_type, code="UNSETTLED", name="Unsettled balance"
    )
