"""Class transition (TOTVS crm251): both triggers, windows, rule order, one step per run,
recorded transitions, audiences, idempotence, no rules, no ERP integration."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from nightshift.crm.choices import ClassTransitionTrigger
from nightshift.crm.models import Audience, ClassTransition, ClassTransitionRule, Contact
from nightshift.processes.builtin.class_transition import ClassTransitionProcess
from nightshift.runs.models import RunItem, RunState
from tests.erp.fixtures import (  # noqa: F401 — fixtures pytest finds by name
    accounts_fixture,
    call_batch,
    candidate_ids,
    classes_fixture,
    days_ago,
    erp_server_fixture,
    frozen_today_fixture,
    run_routine_fixture,
)

KEY = ClassTransitionProcess.key
pytestmark = pytest.mark.usefixtures("frozen_today")


def class_of(contact: Contact) -> str:
    contact.refresh_from_db()
    return contact.customer_class.code


@pytest.fixture
def rules(classes):
    """Bronze → Prata at 1,000.00 in 12 months; Prata → Ouro at 5,000.00 in 6 months;
    Prata → Bronze after 6 months without a purchase."""
    return {
        "up": ClassTransitionRule.objects.create(
            name="Bronze to Prata",
            from_class=classes["BRONZE"],
            to_class=classes["SILVER"],
            trigger=ClassTransitionTrigger.PURCHASES_AT_LEAST,
            amount=Decimal("1000.00"),
            months=12,
        ),
        "gold": ClassTransitionRule.objects.create(
            name="Prata to Ouro",
            from_class=classes["SILVER"],
            to_class=classes["GOLD"],
            trigger=ClassTransitionTrigger.PURCHASES_AT_LEAST,
            amount=Decimal("5000.00"),
            months=6,
        ),
        "down": ClassTransitionRule.objects.create(
            name="Prata back to Bronze",
            from_class=classes["SILVER"],
            to_class=classes["BRONZE"],
            trigger=ClassTransitionTrigger.NO_PURCHASE_FOR,
            months=6,
        ),
    }


def test_accumulated_purchases_within_the_window_move_a_contact_up(
    accounts, classes, rules, run_routine
):
    climber = accounts.contact(customer_class=classes["BRONZE"])
    accounts.purchase(climber, "600.00", days_ago(300))
    accounts.purchase(climber, "400.00", days_ago(10))
    short = accounts.contact(customer_class=classes["BRONZE"])
    accounts.purchase(short, "999.99", days_ago(10))
    old = accounts.contact(customer_class=classes["BRONZE"])
    accounts.purchase(old, "5000.00", days_ago(400))  # outside the 12 months

    run = run_routine(KEY)

    assert run.state == RunState.COMPLETED
    assert (class_of(climber), class_of(short), class_of(old)) == ("SILVER", "BRONZE", "BRONZE")
    transition = ClassTransition.objects.get()
    assert transition.contact == climber
    assert transition.rule == rules["up"]
    assert (transition.from_class, transition.to_class) == (classes["BRONZE"], classes["SILVER"])
    message = RunItem.objects.get(run=run, record_id=climber.pk).message
    assert message == (
        "moved from Bronze to Prata by rule “Bronze to Prata”: purchases of 1000.00 in 12 "
        "months reach 1000.00"
    )


def test_no_purchase_for_n_months_moves_a_contact_down(accounts, classes, rules, run_routine):
    idle = accounts.contact(customer_class=classes["SILVER"])
    accounts.purchase(idle, "100.00", days_ago(200))
    buying = accounts.contact(customer_class=classes["SILVER"])
    accounts.purchase(buying, "100.00", days_ago(100))
    newcomer = accounts.contact(customer_class=classes["SILVER"], created_days_ago=30)

    run_routine(KEY)

    assert class_of(idle) == "BRONZE"
    assert class_of(buying) == "SILVER"
    assert class_of(newcomer) == "SILVER"  # has not existed for six months yet
    assert ClassTransition.objects.get().rule == rules["down"]


def test_the_first_rule_met_wins_and_a_contact_moves_one_step_per_run(
    accounts, classes, rules, run_routine
):
    big = accounts.contact(customer_class=classes["BRONZE"])
    accounts.purchase(big, "9000.00", days_ago(5))

    run_routine(KEY)
    assert class_of(big) == "SILVER"  # not straight to Ouro

    run_routine(KEY)
    assert class_of(big) == "GOLD"  # it bought recently: "Prata back to Bronze" is not met
    assert list(
        ClassTransition.objects.order_by("pk").values_list("to_class__code", flat=True)
    ) == ["SILVER", "GOLD"]


def test_a_second_run_with_nothing_new_moves_no_one(accounts, classes, rules, run_routine):
    ClassTransitionRule.objects.exclude(pk=rules["up"].pk).update(is_active=False)
    climber = accounts.contact(customer_class=classes["BRONZE"])
    accounts.purchase(climber, "1500.00", days_ago(5))
    run_routine(KEY)
    again = run_routine(KEY)
    assert again.total == 0  # Prata has no active rule: the contact is no longer a candidate
    assert ClassTransition.objects.count() == 1


def test_contacts_of_classes_without_active_rules_are_not_candidates(accounts, classes, rules):
    bronze = accounts.contact(customer_class=classes["BRONZE"])
    accounts.contact(customer_class=classes["GOLD"])
    accounts.contact()
    ClassTransitionRule.objects.filter(pk__in=[rules["gold"].pk, rules["down"].pk]).update(
        is_active=False
    )
    assert candidate_ids(KEY, {}) == [bronze.pk]


def test_an_audience_limits_the_contacts(accounts, classes, rules, run_routine):
    inside = accounts.contact(customer_class=classes["BRONZE"], city="Recife")
    outside = accounts.contact(customer_class=classes["BRONZE"], city="Natal")
    for contact in (inside, outside):
        accounts.purchase(contact, "2000.00", days_ago(3))
    Audience.objects.create(name="Recife", criteria={"city": "Recife"})
    run = run_routine(KEY, {"audience": "Recife"})
    assert run.total == 1
    assert (class_of(inside), class_of(outside)) == ("SILVER", "BRONZE")


def test_without_active_rules_the_run_fails_naming_the_screen(classes, run_routine):
    run = run_routine(KEY)
    assert run.state == RunState.FAILED
    assert "no active class transition rule" in run.message
    assert "Class transition rules screen" in run.message


@pytest.mark.usefixtures("rules")
def test_without_erp_integration_the_run_fails(accounts, classes, run_routine, settings):
    accounts.contact(customer_class=classes["BRONZE"])
    settings.NIGHTSHIFT_ERP_CONNECTOR = "none"
    run = run_routine(KEY)
    assert run.state == RunState.FAILED
    assert "No ERP integration is active" in run.message


@pytest.mark.usefixtures("rules")
def test_the_http_erp_gives_the_purchases_per_window(accounts, classes, run_routine, erp_server):
    bronze = accounts.contact(customer_class=classes["BRONZE"])
    silver = accounts.contact(customer_class=classes["SILVER"])
    erp_server.answers["accounts/purchase-totals"] = {
        bronze.code: {"amount": "1200.00", "count": 3}
    }
    run_routine(KEY)
    assert class_of(bronze) == "SILVER"
    assert class_of(silver) == "BRONZE"  # the ERP knows no purchase of it: six months idle
    windows = sorted(r["body"]["since"] for r in erp_server.requests)
    assert windows == ["2025-11-23", "2026-05-23"]  # 12 and 6 months, one request each


@pytest.mark.usefixtures("rules")
def test_a_batch_costs_the_same_queries_whatever_its_size(accounts, classes):
    def queries(size: int) -> int:
        contacts = [
            accounts.contact(customer_class=classes["BRONZE" if n % 2 else "SILVER"])
            for n in range(size)
        ]
        for contact in contacts[::3]:
            accounts.purchase(contact, "6000.00", days_ago(2))
        ids = [c.pk for c in contacts]
        with CaptureQueriesContext(connection) as captured:
            outcomes = call_batch(KEY, {}, ids)
        assert sum(o.message.startswith("moved") for o in outcomes) > 1
        return len(captured)

    assert queries(6) == queries(60)
