"""Past-due invoices: which invoices are past due, the two penalty rules, the invoice updated,
and the same day charged once."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from nightshift.crm.choices import InvoiceState
from nightshift.crm.models import Contact, Invoice, InvoicePenalty
from nightshift.processes.base import ParameterError
from nightshift.processes.builtin.past_due_invoices import PastDueInvoices
from nightshift.runs.models import RunState

from ._engine import items, run_process
from .conftest import TODAY

KEY = PastDueInvoices.key
DAY = datetime.timedelta(days=1)


@pytest.fixture
def customer(db) -> Contact:
    return Contact.objects.create(code="C-1", first_name="Ana")


@pytest.fixture
def invoice(customer):
    numbers = iter(range(1, 1000))

    def make(*, days_ago: int, terms: int = 30, amount="100.00", balance=None, **fields):
        return Invoice.objects.create(
            code=f"INV-{next(numbers)}",
            contact=customer,
            issued_on=TODAY - days_ago * DAY,
            payment_terms_days=terms,
            amount=Decimal(amount),
            balance=Decimal(balance if balance is not None else amount),
            **fields,
        )

    return make


def selected(as_of=TODAY, **params) -> set[str]:
    normalised = PastDueInvoices.validate_parameters({"rate": "2", **params})
    return set(PastDueInvoices().candidates(normalised, as_of=as_of).values_list("code", flat=True))


def run_batch(params, ids, as_of=TODAY):
    normalised = PastDueInvoices.validate_parameters(params)
    return PastDueInvoices().process_batch(normalised, ids, as_of=as_of, run_number=3)


def test_past_due_means_terms_elapsed_with_a_balance(invoice):
    due_yesterday = invoice(days_ago=31)
    invoice(days_ago=30)  # due today: not yet late
    invoice(days_ago=5, terms=0)  # no terms, issued days ago: late
    invoice(days_ago=60, balance="0")  # paid
    invoice(days_ago=60, state=InvoiceState.CANCELLED)
    invoice(days_ago=60, balance="0", state=InvoiceState.SETTLED)
    assert selected() == {due_yesterday.code, "INV-3"}


def test_grace_days_postpone_the_penalty(invoice):
    invoice(days_ago=33)
    assert selected(grace_days=3) == set()
    assert selected(grace_days=2) == {"INV-1"}


def test_currencies_criterion(invoice):
    invoice(days_ago=40, currency="BRL")
    invoice(days_ago=40, currency="EUR")
    assert selected(currencies=["brl"]) == {"INV-1"}


def test_fixed_rule_charges_rate_of_the_amount_once_and_updates_the_invoice(invoice):
    late = invoice(days_ago=45, amount="250.00", balance="200.00")
    (outcome,) = run_batch({"rate": "2", "rule": "fixed_once"}, [late.pk])

    assert outcome.ok
    assert "15 days overdue" in outcome.message
    penalty = InvoicePenalty.objects.get()
    assert (penalty.amount, penalty.days_overdue, penalty.rule) == (
        Decimal("5.00"),
        15,
        "fixed_once",
    )
    late.refresh_from_db()
    assert (late.penalty_amount, late.balance) == (Decimal("5.00"), Decimal("205.00"))
    # Never again for this invoice, on later days either.
    assert selected(TODAY + 10 * DAY, rule="fixed_once") == set()


def test_daily_interest_charges_each_day_since_due_or_last_charge(invoice):
    late = invoice(days_ago=33, amount="1000.00")  # due 3 days ago
    params = {"rate": "0.1", "rule": "daily_interest"}
    run_batch(params, [late.pk])
    late.refresh_from_db()
    assert late.penalty_amount == Decimal("3.00")  # 0.1 % x 3 days x 1,000
    # Two days later (no run yesterday): two days more, on the principal only.
    run_batch(params, [late.pk], as_of=TODAY + 2 * DAY)
    late.refresh_from_db()
    assert late.penalty_amount == Decimal("5.00")
    assert late.balance == Decimal("1005.00")
    assert list(InvoicePenalty.objects.order_by("charged_on").values_list("amount", flat=True)) == [
        Decimal("3.00"),
        Decimal("2.00"),
    ]


def test_interest_bears_on_the_principal_still_owed(invoice):
    late = invoice(days_ago=31, amount="1000.00", balance="400.00")
    run_batch({"rate": "1", "rule": "daily_interest"}, [late.pk])
    assert InvoicePenalty.objects.get().amount == Decimal("4.00")


def test_rerunning_the_same_day_charges_nothing_twice(invoice, operator):
    invoice(days_ago=40)
    invoice(days_ago=50)
    params = {"rate": "0.5", "rule": "daily_interest"}
    first = run_process(operator, KEY, params)
    balances = list(Invoice.objects.order_by("pk").values_list("balance", flat=True))
    again = run_process(operator, KEY, params)

    assert first.state == RunState.COMPLETED
    assert first.total == 2
    assert again.total == 0
    assert list(Invoice.objects.order_by("pk").values_list("balance", flat=True)) == balances
    assert InvoicePenalty.objects.count() == 2


def test_batch_repeated_after_a_charge_leaves_the_invoice_alone(invoice):
    late = invoice(days_ago=40)
    run_batch({"rate": "2"}, [late.pk])
    (outcome,) = run_batch({"rate": "2"}, [late.pk])
    assert "no longer a candidate" in outcome.message
    late.refresh_from_db()
    assert late.penalty_amount == Decimal("2.00")


def test_rate_must_be_a_positive_percentage(db):
    with pytest.raises(ParameterError) as error:
        PastDueInvoices.validate_parameters({"rate": "0", "rule": "compound"})
    assert set(error.value.errors) == {"rate", "rule"}


def test_demo_overdue_invoices_are_charged(operator):
    from nightshift.crm.demo import generate_demo

    generate_demo(size="small", seed=42)
    today = timezone.localdate()
    expected = {
        pk
        for pk, issued, terms in Invoice.objects.filter(
            state=InvoiceState.POSTED, balance__gt=0
        ).values_list("pk", "issued_on", "payment_terms_days")
        if issued + terms * DAY < today
    } - set(InvoicePenalty.objects.filter(rule="fixed_once").values_list("invoice_id", flat=True))
    before = dict(Invoice.objects.values_list("pk", "balance"))
    run = run_process(operator, KEY, {"rate": "2", "rule": "fixed_once"})

    assert run.state == RunState.COMPLETED
    assert expected
    assert set(items(run)) == expected
    changed = {
        pk for pk, balance in Invoice.objects.values_list("pk", "balance") if balance != before[pk]
    }
    assert changed == expected
