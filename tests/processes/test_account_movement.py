"""Account movement monitoring (TOTVS crm00356): which movements count, the period, transfer
to another account manager, the notified users (once per run), the e-mail layout, validation."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from nightshift.crm.choices import ActionKind, ContactStatus, CustomerEventKind
from nightshift.crm.models import (
    Action,
    Audience,
    Contact,
    CustomerEvent,
    Event,
    Notification,
    Opportunity,
    Task,
)
from nightshift.erp.models import UnmovedAccount
from nightshift.mail.models import EmailDirection, EmailMessage
from nightshift.processes.base import ParameterError
from nightshift.processes.builtin.account_movement import AccountMovementMonitoring
from nightshift.runs.models import RunItem, RunState
from tests.erp.fixtures import (  # noqa: F401 — fixtures pytest finds by name
    TODAY,
    accounts_fixture,
    at,
    call_batch,
    candidate_ids,
    days_ago,
    frozen_today_fixture,
    run_routine_fixture,
)

KEY = AccountMovementMonitoring.key
pytestmark = pytest.mark.usefixtures("frozen_today")


def changed(model, pk: int, when: datetime.datetime) -> None:
    model.objects.filter(pk=pk).update(created_at=when, updated_at=when)


def opportunity(contact: Contact, on: datetime.date) -> None:
    made = Opportunity.objects.create(code=f"OPP-{contact.pk}-{on}", name="x", contact=contact)
    changed(Opportunity, made.pk, at(on))


def task(contact: Contact, on: datetime.date) -> None:
    made = Task.objects.create(subject="Ligar", contact=contact, due_at=at(on))
    changed(Task, made.pk, at(on))


def event(contact: Contact, on: datetime.date) -> None:
    made = Event.objects.create(subject="Visita", contact=contact, starts_at=at(on), ends_at=at(on))
    changed(Event, made.pk, at(days_ago(400)))  # scheduled long ago, held on ``on``


def action(contact: Contact, on: datetime.date) -> None:
    made = Action.objects.create(kind=ActionKind.CALL, contact=contact, performed_at=at(on))
    changed(Action, made.pk, at(days_ago(400)))


def email(contact: Contact, on: datetime.date) -> None:
    EmailMessage.objects.create(
        direction=EmailDirection.INBOUND,
        message_id=f"<{contact.pk}-{on}@example.com>",
        thread_key=f"<{contact.pk}@example.com>",
        from_address="cliente@example.com",
        to_addresses="vendas@example.com",
        contact=contact,
        sent_at=at(on),
    )


def purchase(contact: Contact, on: datetime.date) -> None:
    CustomerEvent.objects.create(
        kind=CustomerEventKind.PURCHASE,
        reference=f"PUR-{contact.pk}-{on}",
        contact=contact,
        occurred_at=at(on),
        amount=10,
    )


MOVEMENTS = {
    "opportunities": opportunity,
    "tasks": task,
    "events": event,
    "actions": action,
    "emails": email,
    "purchases": purchase,
}


@pytest.mark.parametrize("movement", list(MOVEMENTS))
def test_a_movement_in_the_period_keeps_an_account_off_the_report(accounts, movement):
    moved = accounts.contact()
    MOVEMENTS[movement](moved, days_ago(29))
    before = accounts.contact()
    MOVEMENTS[movement](before, days_ago(30))  # the day before a 30-day period
    quiet = accounts.contact()
    assert candidate_ids(KEY, {"period_days": 30}) == [before.pk, quiet.pk]


def test_only_the_chosen_movements_count(accounts):
    emailed = accounts.contact()
    email(emailed, days_ago(2))
    bought = accounts.contact()
    purchase(bought, days_ago(2))
    assert candidate_ids(KEY, {"movements": ["purchases"]}) == [emailed.pk]


def test_new_and_rejected_accounts_are_not_reported(accounts):
    quiet = accounts.contact()
    accounts.contact(created_days_ago=10)
    accounts.contact(status=ContactStatus.REJECTED)
    assert candidate_ids(KEY, {"period_days": 30}) == [quiet.pk]


def test_accounts_without_movement_are_reported_without_transfer(accounts, run_routine, operator):
    quiet = accounts.contact(account_manager=operator)
    task(accounts.contact(), days_ago(1))
    run = run_routine(KEY, {"period_days": 60})
    assert (run.state, run.total) == (RunState.COMPLETED, 1)
    item = RunItem.objects.get(run=run)
    assert (item.record_id, item.message) == (quiet.pk, "no movement since 2026-09-24")
    quiet.refresh_from_db()
    assert quiet.account_manager == operator
    entry = UnmovedAccount.objects.get(run_number=run.pk)
    assert (entry.contact, entry.previous_manager, entry.transferred_to) == (quiet, operator, None)


def test_accounts_without_movement_are_transferred(accounts, run_routine, make_user, operator):
    carla = make_user("carla")
    quiet = accounts.contact(account_manager=operator)
    already = accounts.contact(account_manager=carla)
    run = run_routine(KEY, {"transfer": True, "transfer_to": "carla"})
    messages = dict(RunItem.objects.filter(run=run).values_list("record_id", "message"))
    assert messages[quiet.pk] == f"no movement since {days_ago(89)}; transferred to carla"
    assert messages[already.pk] == f"no movement since {days_ago(89)}"
    assert set(Contact.objects.values_list("account_manager__username", flat=True)) == {"carla"}
    assert UnmovedAccount.objects.get(contact=quiet).transferred_to == carla
    assert UnmovedAccount.objects.get(contact=already).transferred_to is None


def test_an_audience_limits_the_accounts(accounts, run_routine):
    accounts.contact(city="Recife")
    accounts.contact(city="Natal")
    Audience.objects.create(name="Recife", criteria={"city": "Recife"})
    assert run_routine(KEY, {"audience": "Recife"}).total == 1


def test_notified_users_get_the_list_once_per_run(
    accounts, run_routine, make_user, mailoutbox, django_capture_on_commit_callbacks
):
    make_user("bia", email="bia@example.com")
    make_user("caio")  # no e-mail address: a notification only
    quiet = accounts.contact(first_name="Zélia", last_name="Gonçalves")
    params = {
        "notify_users": ["bia", "caio"],
        "email_subject": "Contas paradas: {{ count }}",
        "email_layout": "De {{ period_start }} a {{ period_end }}:\n{{ accounts }}\n{{ link }}",
    }
    with django_capture_on_commit_callbacks(execute=True):
        run = run_routine(KEY, params)

    report = [m for m in mailoutbox if m.subject.startswith("Contas")]
    (mail,) = report
    assert mail.to == ["bia@example.com"]
    assert mail.subject == "Contas paradas: 1"
    assert mail.body.startswith(f"De {days_ago(89)} a {TODAY}:\n- {quiet.code} · Zélia Gonçalves")
    assert mail.body.endswith(f"/runs/{run.pk}/")
    notifications = Notification.objects.filter(subject_key=f"erp.movement:run:{run.pk}")
    assert sorted(notifications.values_list("user__username", flat=True)) == ["bia", "caio"]
    assert notifications.first().link == f"/runs/{run.pk}/"

    # Completed again (a worker died right after): nothing is sent twice.
    params = AccountMovementMonitoring.validate_parameters(params)
    with django_capture_on_commit_callbacks(execute=True):
        AccountMovementMonitoring().complete(params, as_of=TODAY, run_number=run.pk)
    assert len([m for m in mailoutbox if m.subject.startswith("Contas")]) == 1
    assert notifications.count() == 2


def test_the_default_layout_lists_the_accounts(accounts, run_routine, make_user, mailoutbox,
                                               django_capture_on_commit_callbacks):  # fmt: skip
    make_user("bia", email="bia@example.com")
    quiet = accounts.contact()
    with django_capture_on_commit_callbacks(execute=True):
        run_routine(KEY, {"notify_users": ["bia"], "period_days": 30})
    (mail,) = [m for m in mailoutbox if "without movement" in m.subject]
    assert mail.subject == f"1 accounts without movement since {days_ago(29)}"
    assert quiet.code in mail.body


def test_nothing_to_report_notifies_no_one(accounts, run_routine, make_user, mailoutbox,
                                           django_capture_on_commit_callbacks):  # fmt: skip
    make_user("bia", email="bia@example.com")
    task(accounts.contact(), days_ago(1))
    with django_capture_on_commit_callbacks(execute=True):
        run = run_routine(KEY, {"notify_users": ["bia"]})
    assert run.total == 0
    assert not Notification.objects.filter(subject_key__startswith="erp.movement").exists()


def test_it_needs_no_erp_integration(accounts, run_routine, settings):
    settings.NIGHTSHIFT_ERP_CONNECTOR = "none"
    accounts.contact()
    assert run_routine(KEY).state == RunState.COMPLETED


REFUSED = [
    ({"transfer": True}, "transfer_to", "Choose the account manager who receives"),
    ({"transfer_to": "olivia"}, "transfer_to", "Set “transfer” too, or leave this empty."),
    ({"transfer": True, "transfer_to": "ghost"}, "transfer_to", "Unknown or inactive user: ghost"),
    ({"notify_users": ["olivia", "ghost", "x"]}, "notify_users", "inactive users: ghost, x."),
    ({"email_subject": "{{ accounts }}"}, "email_subject", "Unknown placeholders: accounts."),
    ({"email_layout": "{{ nome }}"}, "email_layout", "Available: {{ accounts }}, {{ count }}"),
    ({"period_days": 0}, "period_days", "greater than or equal to 1"),
    ({"movements": []}, "movements", "choose at least 1"),
    ({"movements": ["calls"]}, "movements.0", "must be one of: “opportunities”, “tasks”, “events”"),
]


@pytest.mark.parametrize(("params", "field", "message"), REFUSED)
def test_parameters_are_refused_on_the_field_at_fault(operator, params, field, message):
    with pytest.raises(ParameterError) as caught:
        AccountMovementMonitoring.validate_parameters(params)
    assert list(caught.value.errors) == [field]
    assert message in caught.value.errors[field]


def test_the_period_ends_on_the_date_of_execution():
    first_day, start, end = AccountMovementMonitoring.period({"period_days": 1}, TODAY)
    assert first_day == TODAY
    assert (timezone.localdate(start), end - start) == (TODAY, datetime.timedelta(days=1))


def test_a_batch_costs_the_same_queries_whatever_its_size(accounts, make_user, operator):
    make_user("carla")
    params = {"transfer": True, "transfer_to": "carla"}

    def queries(size: int, run_number: int) -> int:
        contacts = [accounts.contact(account_manager=operator) for _ in range(size)]
        ids = [c.pk for c in contacts]
        with CaptureQueriesContext(connection) as captured:
            outcomes = call_batch(KEY, params, ids, run_number=run_number)
        assert all(o.message.endswith("transferred to carla") for o in outcomes)
        return len(captured)

    assert queries(3, 1) == queries(30, 2)
