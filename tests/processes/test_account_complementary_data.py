"""Account complementary data (TOTVS crm338): every figure written from the ERP, audiences,
idempotence, a constant number of queries per batch, the HTTP ERP, and no ERP integration."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from nightshift.crm.models import Audience, Contact, Notification
from nightshift.processes.base import ParameterError, ProcessFailed
from nightshift.processes.builtin.account_complementary_data import AccountComplementaryData
from nightshift.runs.models import RunItem, RunState
from tests.erp.fixtures import (  # noqa: F401 — fixtures pytest finds by name
    TODAY,
    accounts_fixture,
    call_batch,
    candidate_ids,
    days_ago,
    erp_server_fixture,
    frozen_today_fixture,
    run_routine_fixture,
)

KEY = AccountComplementaryData.key
FIGURES = (
    "first_purchase_date",
    "first_purchase_amount",
    "last_purchase_date",
    "last_purchase_amount",
    "accumulated_purchase_amount",
    "accumulated_purchase_count",
    "last_quotation_date",
    "days_since_last_purchase",
    "last_invoice_code",
)


def figures(contact: Contact) -> dict:
    contact.refresh_from_db()
    return {name: getattr(contact, name) for name in FIGURES}


@pytest.fixture
def customers(accounts):
    """Maria buys regularly; João bought once long ago; Ana never bought but carries stale
    figures from an earlier sync."""
    maria = accounts.contact(city="Recife")
    accounts.purchase(maria, "250.00", days_ago(700))
    accounts.purchase(maria, "99.90", days_ago(35))
    accounts.purchase(maria, "40.10", days_ago(3), invoice="NF-9")
    invoice = accounts.invoice(maria, days_ago(3))
    accounts.quotation(maria, days_ago(8))
    joao = accounts.contact(city="São Paulo")
    accounts.purchase(joao, "1000.00", days_ago(500), invoice="NF-1")
    ana = accounts.contact(
        city="Recife",
        accumulated_purchase_amount=Decimal("77.00"),
        accumulated_purchase_count=2,
        last_invoice_code="OLD",
        days_since_last_purchase=3,
    )
    return {"maria": maria, "joao": joao, "ana": ana, "invoice": invoice}


def test_a_run_writes_every_figure_from_the_erp(customers, run_routine, frozen_today):
    run = run_routine(KEY)

    assert run.state == RunState.COMPLETED
    assert (run.total, run.succeeded, run.failed) == (3, 3, 0)
    assert figures(customers["maria"]) == {
        "first_purchase_date": days_ago(700),
        "first_purchase_amount": Decimal("250.00"),
        "last_purchase_date": days_ago(3),
        "last_purchase_amount": Decimal("40.10"),
        "accumulated_purchase_amount": Decimal("390.00"),
        "accumulated_purchase_count": 3,
        "last_quotation_date": days_ago(8),
        "days_since_last_purchase": 3,
        "last_invoice_code": customers["invoice"].code,
    }
    assert figures(customers["joao"])["days_since_last_purchase"] == 500
    assert figures(customers["joao"])["last_invoice_code"] == "NF-1"
    customers["maria"].refresh_from_db()
    assert customers["maria"].complementary_data_updated_at is not None


def test_an_account_without_purchases_has_its_figures_cleared(customers, run_routine, frozen_today):
    run_routine(KEY)
    assert figures(customers["ana"]) == {
        "first_purchase_date": None,
        "first_purchase_amount": None,
        "last_purchase_date": None,
        "last_purchase_amount": None,
        "accumulated_purchase_amount": Decimal("0.00"),
        "accumulated_purchase_count": 0,
        "last_quotation_date": None,
        "days_since_last_purchase": None,
        "last_invoice_code": "",
    }


def test_outcomes_say_what_was_written(customers, run_routine, frozen_today):
    run = run_routine(KEY)
    messages = dict(RunItem.objects.filter(run=run).values_list("record_id", "message"))
    assert messages[customers["maria"].pk] == "3 purchases, 390.00 in all; last on 2026-11-19"
    assert messages[customers["ana"].pk] == "no purchases in the ERP; figures cleared"


def test_a_second_run_writes_the_same_figures(customers, run_routine, frozen_today):
    run_routine(KEY)
    first = {name: figures(contact) for name, contact in customers.items() if name != "invoice"}
    again = run_routine(KEY)
    second = {name: figures(contact) for name, contact in customers.items() if name != "invoice"}
    assert again.state == RunState.COMPLETED
    assert first == second


def test_an_audience_limits_the_accounts(customers, run_routine, frozen_today):
    Audience.objects.create(name="Recife", criteria={"city": "Recife"})
    run = run_routine(KEY, {"audience": "Recife"})
    assert run.total == 2
    assert figures(customers["joao"])["accumulated_purchase_count"] == 0  # not refreshed


def test_an_audience_may_be_named_by_id_and_is_stored_by_name(db):
    audience = Audience.objects.create(name="Gold", criteria={"customer_class__code": "GOLD"})
    assert AccountComplementaryData.validate_parameters({"audience": audience.pk}) == {
        "audience": "Gold"
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [("Nobody", "Unknown audience: Nobody."), (999, "Unknown audience: 999.")],
)
def test_an_unknown_audience_is_refused_on_its_field(db, value, message):
    with pytest.raises(ParameterError) as caught:
        AccountComplementaryData.validate_parameters({"audience": value})
    assert caught.value.errors == {"audience": message}


def test_a_mistyped_parameter_is_refused(db):
    with pytest.raises(ParameterError) as caught:
        AccountComplementaryData.validate_parameters({"audiense": "x"})
    assert "audiense" in caught.value.errors


def test_an_audience_removed_after_saving_fails_the_run(customers):
    Audience.objects.create(name="Temporary", criteria={"city": "Recife"})
    params = AccountComplementaryData.validate_parameters({"audience": "Temporary"})
    Audience.objects.filter(name="Temporary").delete()
    with pytest.raises(ProcessFailed, match="The audience “Temporary” no longer exists"):
        AccountComplementaryData().count(params, as_of=TODAY, after=0)


def test_a_batch_costs_the_same_queries_whatever_its_size(accounts):
    def queries(size: int) -> int:
        contacts = [accounts.contact() for _ in range(size)]
        for contact in contacts:
            accounts.purchase(contact, "12.00", days_ago(4))
        ids = [c.pk for c in contacts]
        with CaptureQueriesContext(connection) as captured:
            outcomes = call_batch(KEY, {}, ids)
        assert [o.record_id for o in outcomes] == ids
        return len(captured)

    assert queries(5) == queries(60)


def test_a_deleted_contact_gets_an_error_outcome(accounts):
    kept, gone = accounts.contact(), accounts.contact()
    gone_pk = gone.pk
    gone.delete()
    ok, error = call_batch(KEY, {}, [kept.pk, gone_pk])
    assert ok.ok
    assert not error.ok
    assert "no longer a candidate" in error.message


def test_without_erp_integration_the_run_fails_with_that_reason(
    customers, run_routine, settings, operator, frozen_today
):
    settings.NIGHTSHIFT_ERP_CONNECTOR = "none"
    run = run_routine(KEY)
    assert run.state == RunState.FAILED
    assert "No ERP integration is active" in run.message
    assert run.processed == 0
    assert figures(customers["ana"])["last_invoice_code"] == "OLD"  # nothing touched


@pytest.mark.usefixtures("customers", "frozen_today")
def test_the_requester_is_told_the_reason(
    run_routine, settings, operator, mailoutbox, django_capture_on_commit_callbacks
):
    settings.NIGHTSHIFT_ERP_CONNECTOR = "none"
    with django_capture_on_commit_callbacks(execute=True):
        run = run_routine(KEY)
    (mail,) = mailoutbox
    assert mail.to == [operator.email]
    assert "No ERP integration is active" in mail.body
    assert Notification.objects.filter(user=operator, subject_key=f"run:{run.pk}").exists()


def test_the_http_erp_answers_a_run(customers, run_routine, erp_server, frozen_today):
    erp_server.answers["accounts/purchase-summaries"] = {
        customers["maria"].code: {
            "first_purchase_date": "2020-01-15",
            "first_purchase_amount": "10.00",
            "last_purchase_date": "2026-11-20",
            "last_purchase_amount": "20.00",
            "accumulated_purchase_amount": "5000.00",
            "accumulated_purchase_count": 77,
            "last_quotation_date": "2026-11-01",
            "last_invoice_code": "ERP-NF-1",
        },
        customers["joao"].code: {"last_purchase_date": "not a date"},
    }
    run = run_routine(KEY)

    assert run.state == RunState.COMPLETED_WITH_ERRORS
    assert (run.succeeded, run.failed) == (2, 1)
    maria = figures(customers["maria"])
    assert maria["accumulated_purchase_count"] == 77
    assert maria["days_since_last_purchase"] == 2
    assert maria["last_invoice_code"] == "ERP-NF-1"
    error = RunItem.objects.get(run=run, ok=False)
    assert error.record_id == customers["joao"].pk
    assert "last_purchase_date" in error.message
    assert figures(customers["joao"])["accumulated_purchase_count"] == 0  # left as it was


def test_an_http_erp_that_is_down_fails_the_run(customers, run_routine, erp_server, frozen_today):
    erp_server.status = 500
    run = run_routine(KEY)
    assert run.state == RunState.FAILED
    assert "HTTP 500" in run.message
    assert erp_server.url in run.message


def test_the_process_declares_a_nightly_default_agenda():
    schedule = AccountComplementaryData.default_agenda
    assert schedule["repeat"] == {"daily": {"every": 1}}
    assert schedule["start"].endswith("T02:00")


def test_candidates_are_every_contact_by_primary_key(customers):
    made = sorted(c.pk for name, c in customers.items() if name != "invoice")
    assert candidate_ids(KEY, {}) == made
