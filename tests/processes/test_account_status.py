"""Account status (TOTVS crm1003): active / inactive / not integrated with ERP, from the CRM
connector and from an HTTP ERP; rejected contacts untouched; idempotent; no integration."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from nightshift.crm.choices import ContactStatus
from nightshift.crm.models import Audience, Contact
from nightshift.processes.builtin.account_status import AccountStatus
from nightshift.runs.models import RunItem, RunState
from tests.erp.fixtures import (  # noqa: F401 — fixtures pytest finds by name
    accounts_fixture,
    call_batch,
    days_ago,
    erp_server_fixture,
    frozen_today_fixture,
    run_routine_fixture,
)

KEY = AccountStatus.key


def status(contact: Contact) -> str:
    contact.refresh_from_db()
    return contact.status


@pytest.fixture
def book(accounts, settings):
    """One contact in each situation, all currently "active" (the default)."""
    settings.NIGHTSHIFT_ERP_ACTIVE_MONTHS = 12
    buying = accounts.contact(city="Recife")
    accounts.purchase(buying, "59.90", days_ago(20))
    lapsed = accounts.contact(city="Recife")
    accounts.purchase(lapsed, "59.90", days_ago(500))
    crm_only = accounts.contact(city="Natal")
    rejected = accounts.contact(status=ContactStatus.REJECTED)
    return {"buying": buying, "lapsed": lapsed, "crm_only": crm_only, "rejected": rejected}


@pytest.mark.usefixtures("frozen_today")
def test_statuses_come_from_the_erp(book, run_routine):
    run = run_routine(KEY)
    assert run.state == RunState.COMPLETED
    assert run.total == 3  # the rejected contact is not a candidate
    assert status(book["buying"]) == ContactStatus.ACTIVE
    assert status(book["lapsed"]) == ContactStatus.INACTIVE
    assert status(book["crm_only"]) == ContactStatus.NOT_INTEGRATED
    assert status(book["rejected"]) == ContactStatus.REJECTED


@pytest.mark.usefixtures("frozen_today")
def test_outcomes_name_the_change_and_a_second_run_changes_nothing(book, run_routine):
    first = run_routine(KEY)
    messages = dict(RunItem.objects.filter(run=first).values_list("record_id", "message"))
    assert messages[book["lapsed"].pk] == "Active → Inactive"
    assert messages[book["buying"].pk] == "unchanged: Active"

    second = run_routine(KEY)
    messages = set(RunItem.objects.filter(run=second).values_list("message", flat=True))
    assert messages == {
        "unchanged: Active",
        "unchanged: Inactive",
        "unchanged: Not integrated with ERP",
    }


@pytest.mark.usefixtures("frozen_today")
def test_an_audience_limits_the_accounts(book, run_routine):
    Audience.objects.create(name="Natal", criteria={"city": "Natal"})
    run = run_routine(KEY, {"audience": "Natal"})
    assert run.total == 1
    assert status(book["crm_only"]) == ContactStatus.NOT_INTEGRATED
    assert status(book["lapsed"]) == ContactStatus.ACTIVE  # not in the audience


@pytest.mark.usefixtures("frozen_today")
def test_the_http_erp_decides(book, run_routine, erp_server):
    erp_server.answers["accounts/statuses"] = {
        book["crm_only"].code: "active",
        book["buying"].code: {"status": "inactive"},
        book["lapsed"].code: {"status": "suspended"},
    }
    run = run_routine(KEY)
    assert run.state == RunState.COMPLETED_WITH_ERRORS
    assert status(book["crm_only"]) == ContactStatus.ACTIVE
    assert status(book["buying"]) == ContactStatus.INACTIVE
    assert status(book["lapsed"]) == ContactStatus.ACTIVE  # its answer was refused
    error = RunItem.objects.get(run=run, ok=False)
    assert error.record_id == book["lapsed"].pk
    assert book["lapsed"].code in error.message


@pytest.mark.usefixtures("frozen_today", "book")
def test_without_erp_integration_the_run_fails_and_changes_nothing(run_routine, settings):
    settings.NIGHTSHIFT_ERP_CONNECTOR = "none"
    run = run_routine(KEY)
    assert run.state == RunState.FAILED
    assert "No ERP integration is active" in run.message
    assert set(Contact.objects.values_list("status", flat=True)) == {
        ContactStatus.ACTIVE,
        ContactStatus.REJECTED,
    }


def test_a_batch_costs_the_same_queries_whatever_its_size(accounts):
    def queries(size: int) -> int:
        contacts = [accounts.contact() for _ in range(size)]
        for contact in contacts[::2]:
            accounts.purchase(contact, "5.00", days_ago(900))
        ids = [c.pk for c in contacts]
        with CaptureQueriesContext(connection) as captured:
            outcomes = call_batch(KEY, {}, ids)
        assert len(outcomes) == size
        return len(captured)

    assert queries(4) == queries(40)
