"""The account routines on the small demo (500 contacts, 20,000 customer events, invoices,
opportunities, e-mails): every set-based answer equals a plain per-contact ORM computation.

The demo is loaded once for the module (it takes seconds) and rolled back at the end; time is
frozen so that the demo's "today" and the runs' date of execution agree."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
import time_machine
from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import Sum
from django.test import override_settings
from django.utils import timezone

from nightshift.crm.choices import ContactStatus, CustomerEventKind, InvoiceState
from nightshift.crm.demo import generate_demo
from nightshift.crm.models import ClassTransition, ClassTransitionRule, Contact, CustomerEvent
from nightshift.erp.connectors import PurchaseTotal
from nightshift.erp.connectors.crm import QUOTED_STAGES
from nightshift.processes.builtin.account_complementary_data import AccountComplementaryData
from nightshift.processes.builtin.account_status import AccountStatus
from nightshift.processes.builtin.class_transition import (
    ClassTransitionProcess,
    rule_met,
    window_start,
)

FROZEN = dt.datetime(2026, 3, 16, 14, 30, tzinfo=dt.UTC)
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]
BATCH = 97  # not a divisor of 500: the last batch is partial


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker) -> Iterator[dt.date]:
    with (
        django_db_blocker.unblock(),
        time_machine.travel(FROZEN, tick=False),
        override_settings(PASSWORD_HASHERS=FAST_HASHER),
    ):
        kept = transaction.atomic()
        kept.__enter__()
        try:
            generate_demo(size="small", seed=42)
            yield timezone.localdate()
        finally:
            transaction.set_rollback(True)
            kept.__exit__(None, None, None)


pytestmark = pytest.mark.usefixtures("db")


def run_all(process, params: dict, as_of: dt.date) -> list:
    """Every candidate through ``process_batch`` in batches, as the engine would."""
    instance = process()
    params = process.validate_parameters(params)
    ids = list(instance.candidates(params, as_of=as_of).values_list("pk", flat=True))
    outcomes = []
    for start in range(0, len(ids), BATCH):
        outcomes += instance.process_batch(params, ids[start : start + BATCH], as_of=as_of,
                                           run_number=None)  # fmt: skip
    return outcomes


def expected_figures(contact: Contact, as_of: dt.date) -> dict:
    """The complementary data of one contact, the slow and obvious way."""
    purchases = list(
        contact.customer_events.filter(kind=CustomerEventKind.PURCHASE).order_by(
            "occurred_at", "pk"
        )
    )
    invoice = (
        contact.invoices.exclude(state=InvoiceState.CANCELLED).order_by("-issued_on", "-pk").first()
    )
    quoted = contact.opportunities.filter(stage__in=QUOTED_STAGES).order_by("-updated_at").first()
    first, last = (purchases[0], purchases[-1]) if purchases else (None, None)
    day = timezone.localdate
    return {
        "first_purchase_date": day(first.occurred_at) if first else None,
        "first_purchase_amount": first.amount if first else None,
        "last_purchase_date": day(last.occurred_at) if last else None,
        "last_purchase_amount": last.amount if last else None,
        "accumulated_purchase_amount": sum((p.amount for p in purchases), Decimal("0.00")),
        "accumulated_purchase_count": len(purchases),
        "last_quotation_date": day(quoted.updated_at) if quoted else None,
        "days_since_last_purchase": (as_of - day(last.occurred_at)).days if last else None,
        "last_invoice_code": invoice.code if invoice else (last.invoice_code if last else ""),
    }


def test_complementary_data_matches_a_per_contact_computation(demo):
    outcomes = run_all(AccountComplementaryData, {}, demo)
    assert len(outcomes) == Contact.objects.count() == 500
    assert all(outcome.ok for outcome in outcomes)
    bought = 0
    for contact in Contact.objects.order_by("pk"):
        expected = expected_figures(contact, demo)
        assert {name: getattr(contact, name) for name in expected} == expected, contact.code
        bought += bool(expected["accumulated_purchase_count"])
    assert bought > 400  # the demo's contacts mostly buy: the comparison is not vacuous


def test_statuses_match_a_per_contact_computation(demo, settings):
    settings.NIGHTSHIFT_ERP_ACTIVE_MONTHS = 3
    # Every demo contact bought or was billed: one CRM-only account joins them.
    Contact.objects.create(code="CRM-ONLY", first_name="Nova", last_name="Conta")
    before = dict(Contact.objects.values_list("pk", "status"))
    run_all(AccountStatus, {}, demo)
    since = demo - relativedelta(months=3)
    seen = set()
    for contact in Contact.objects.order_by("pk"):
        if before[contact.pk] == ContactStatus.REJECTED:
            assert contact.status == ContactStatus.REJECTED
            continue
        last = (
            contact.customer_events.filter(kind=CustomerEventKind.PURCHASE)
            .order_by("-occurred_at")
            .first()
        )
        billed = contact.invoices.exclude(state=InvoiceState.CANCELLED).order_by("-issued_on")
        dates = [timezone.localdate(last.occurred_at)] if last else []
        dates += [billed.first().issued_on] if billed.exists() else []
        if not dates and not contact.invoices.exists():
            expected = ContactStatus.NOT_INTEGRATED
        elif dates and since < max(dates) <= demo:
            expected = ContactStatus.ACTIVE
        else:
            expected = ContactStatus.INACTIVE
        assert contact.status == expected, contact.code
        seen.add(expected)
    assert seen == {ContactStatus.ACTIVE, ContactStatus.INACTIVE, ContactStatus.NOT_INTEGRATED}


def test_class_transitions_follow_the_demo_rules(demo):
    rules = list(ClassTransitionRule.objects.filter(is_active=True))
    assert rules  # the demo ships transition rules
    classes = dict(Contact.objects.values_list("pk", "customer_class_id"))
    before = ClassTransition.objects.count()
    outcomes = run_all(ClassTransitionProcess, {}, demo)
    moved = {t.contact_id: t for t in ClassTransition.objects.order_by("pk")[before:]}
    assert moved, "no contact met a trigger: the comparison would be vacuous"
    for outcome in outcomes:
        contact = Contact.objects.get(pk=outcome.record_id)
        expected = None
        for rule in ClassTransitionRule.objects.filter(
            is_active=True, from_class_id=classes[contact.pk]
        ):
            purchases = CustomerEvent.objects.filter(
                contact=contact,
                kind=CustomerEventKind.PURCHASE,
                occurred_at__date__gte=window_start(demo, rule.months),
                occurred_at__date__lte=demo,
            )
            total = PurchaseTotal(
                amount=purchases.aggregate(s=Sum("amount"))["s"] or Decimal(0),
                count=purchases.count(),
            )
            created_on = timezone.localdate(contact.created_at)
            if rule_met(rule, total, created_on=created_on, as_of=demo):
                expected = rule
                break
        got = moved.get(contact.pk)
        assert (got.rule if got else None) == expected, contact.code
        if expected:
            assert contact.customer_class_id == expected.to_class_id
