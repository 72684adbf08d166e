"""The notifications process: each reminder source, tasks about to expire, the blocking sales
process rules, and notifying each subject once whatever the runs."""

from __future__ import annotations

import datetime

import pytest

from nightshift.alerts.processes import NotificationsProcess
from nightshift.alerts.rules import KEY_STRIDE
from nightshift.crm.choices import (
    InvoiceState,
    JobState,
    NotificationKind,
    NotificationState,
    OpportunityStage,
)
from nightshift.crm.models import Notification, Opportunity
from nightshift.processes.base import ParameterError
from nightshift.runs.models import RunItem, RunState

from .conftest import TODAY, at

KEY = NotificationsProcess.key
# Only the reminders: the other rules are switched off, so each test sees one source.
REMINDERS_ONLY = {
    "task_expiring_days": None,
    "task_overdue_days": None,
    "opportunity_past_close_days": None,
}


def notifications(**filters) -> list[Notification]:
    return list(Notification.objects.filter(**filters).order_by("pk"))


def run_once(params: dict | None = None, *, as_of: datetime.date = TODAY) -> None:
    """Every batch of a run, without the engine (selection and processing only)."""
    process = NotificationsProcess()
    normalised = NotificationsProcess.validate_parameters(params or {})
    after = 0
    while keys := process.next_keys(normalised, as_of=as_of, after=after, limit=3):
        outcomes = process.process_batch(normalised, keys, as_of=as_of, run_number=None)
        assert [o.record_id for o in outcomes] == keys
        after = keys[-1]


# -- reminders -------------------------------------------------------------------------------


def test_a_task_reminder_today_notifies_its_owner_once(clock, make_task, manager):
    task = make_task(reminder_at=at(0, 15), due_at=at(2))
    run_once(REMINDERS_ONLY)
    (notification,) = notifications()
    assert notification.user == manager
    assert notification.kind == NotificationKind.NON_BLOCKING
    assert notification.state == NotificationState.OPEN
    assert notification.subject_key.startswith(f"task:{task.pk}:reminder:")
    assert notification.deadline == at(0, 15)
    assert notification.link == f"/admin/crm/task/{task.pk}/change/"
    assert "Call back" in notification.title


def test_a_task_without_owner_notifies_its_manager(clock, make_task, other_manager):
    make_task(owner=None, manager=other_manager, reminder_at=at(0, 15))
    run_once(REMINDERS_ONLY)
    assert [n.user for n in notifications()] == [other_manager]


def test_reminders_of_done_tasks_performed_actions_and_closed_opportunities_are_ignored(
    clock, make_task, make_action, make_opportunity
):
    make_task(state=JobState.DONE, completed_at=at(-1), reminder_at=at(0, 15))
    make_action(performed_at=at(-1), reminder_at=at(0, 15))
    make_opportunity(stage=OpportunityStage.WON, reminder_at=at(0, 15))
    run_once(REMINDERS_ONLY)
    assert notifications() == []


def test_an_action_reminder_notifies_its_owner(clock, make_action, manager):
    action = make_action(reminder_at=at(1, 9))
    run_once(REMINDERS_ONLY)
    (notification,) = notifications()
    assert (notification.user, notification.kind) == (manager, NotificationKind.NON_BLOCKING)
    assert notification.subject_key.startswith(f"action:{action.pk}:reminder:")
    assert notification.title == "Reminder: Call with C-1"


def test_an_opportunity_reminder_notifies_its_owner(clock, make_opportunity, manager):
    opportunity = make_opportunity(reminder_at=at(0, 9))
    run_once(REMINDERS_ONLY)
    (notification,) = notifications()
    assert notification.user == manager
    assert notification.title == f"Reminder: opportunity {opportunity.code} · Fibre upgrade"


def test_an_event_reminder_notifies_its_owner_with_the_start_as_deadline(
    clock, make_event, manager
):
    event = make_event(reminder_at=at(1, 8))
    run_once(REMINDERS_ONLY)
    (notification,) = notifications()
    assert notification.user == manager
    assert notification.subject_key.startswith(f"event:{event.pk}:reminder:")
    assert notification.deadline == event.starts_at


def test_an_invoice_reminder_notifies_the_contacts_account_manager(clock, make_invoice, manager):
    invoice = make_invoice(reminder_at=at(0, 10))
    make_invoice(reminder_at=at(0, 10), state=InvoiceState.SETTLED, balance=0)
    run_once(REMINDERS_ONLY)
    (notification,) = notifications()
    assert notification.user == manager
    assert notification.title == f"Reminder: invoice {invoice.code}, balance 40.00 EUR"


def test_reminder_window_reaches_lookahead_and_lookback_days_only(clock, make_action):
    inside = [make_action(reminder_at=at(-7, 0)), make_action(reminder_at=at(1, 23, 59))]
    make_action(reminder_at=at(-8, 23, 59))  # a day before the look-back
    make_action(reminder_at=at(2, 0))  # beyond the look-ahead
    run_once(REMINDERS_ONLY)
    keys = {n.subject_key.split(":")[1] for n in notifications()}
    assert keys == {str(a.pk) for a in inside}


def test_a_source_left_out_of_the_parameters_is_not_read(clock, make_action, make_event):
    make_action(reminder_at=at(0, 15))
    make_event(reminder_at=at(0, 15))
    run_once({**REMINDERS_ONLY, "reminder_sources": ["event"]})
    assert [n.subject_key.split(":")[0] for n in notifications()] == ["event"]


def test_records_nobody_owns_are_left_out(clock, make_action, contact):
    make_action(owner=None, reminder_at=at(0, 15))
    contact.account_manager = None
    contact.save()
    run_once(REMINDERS_ONLY)
    assert notifications() == []


# -- tasks about to expire -------------------------------------------------------------------


def test_tasks_due_today_or_tomorrow_are_about_to_expire(clock, make_task):
    due_today = make_task(due_at=at(0, 18))
    due_tomorrow = make_task(due_at=at(1, 23))
    make_task(due_at=at(2, 1))  # the day after tomorrow
    make_task(due_at=at(0, 18), state=JobState.CANCELLED)
    run_once({"task_overdue_days": None, "opportunity_past_close_days": None})
    assert [n.subject_key for n in notifications()] == [
        f"task:{due_today.pk}:expiring",
        f"task:{due_tomorrow.pk}:expiring",
    ]
    assert {n.kind for n in notifications()} == {NotificationKind.NON_BLOCKING}


# -- blocking rules --------------------------------------------------------------------------


def test_a_task_overdue_by_more_than_n_days_blocks_its_owner_with_a_deadline(
    clock, make_task, manager
):
    late = make_task(due_at=at(-3, 9))
    make_task(due_at=at(-1, 9))  # late, but not by two days yet
    run_once({"task_expiring_days": None, "opportunity_past_close_days": None})
    (notification,) = notifications()
    assert notification.kind == NotificationKind.BLOCKING
    assert notification.user == manager
    assert notification.subject_key == f"task:{late.pk}:overdue"
    assert notification.deadline == at(1, 12)  # 24 hours after it was raised
    assert "more than 2 days past its due date" in notification.message


def test_an_open_opportunity_past_its_close_date_and_idle_blocks_its_owner(
    clock, make_opportunity, manager
):
    stale = make_opportunity(expected_close_date=TODAY - datetime.timedelta(days=3))
    fresh = make_opportunity(expected_close_date=TODAY - datetime.timedelta(days=3))
    make_opportunity(
        expected_close_date=TODAY - datetime.timedelta(days=3), stage=OpportunityStage.LOST
    )
    make_opportunity()  # closes next month
    # Updated ten days ago, except "fresh", updated yesterday.
    Opportunity.objects.update(updated_at=at(-10))
    Opportunity.objects.filter(pk=fresh.pk).update(updated_at=at(-1))
    run_once({"task_expiring_days": None, "task_overdue_days": None})
    (notification,) = notifications()
    assert notification.kind == NotificationKind.BLOCKING
    assert notification.user == manager
    assert notification.subject_key == f"opportunity:{stale.pk}:past_close"
    assert notification.deadline is not None


def test_blocking_deadline_hours_is_a_parameter(clock, make_task):
    make_task(due_at=at(-5))
    run_once({"blocking_deadline_hours": 2, "task_expiring_days": None})
    assert notifications()[0].deadline == at(0, 14)


# -- once per subject ------------------------------------------------------------------------


def test_running_again_creates_nothing_new(clock, make_task, make_action, make_opportunity):
    make_task(reminder_at=at(0, 15), due_at=at(1))
    make_task(due_at=at(-4))
    make_action(reminder_at=at(0, 16))
    old = make_opportunity(expected_close_date=TODAY - datetime.timedelta(days=30))
    Opportunity.objects.filter(pk=old.pk).update(updated_at=at(-30))
    run_once()
    first = [(n.user_id, n.subject_key) for n in notifications()]
    assert len(first) == 5  # reminder + expiring of the first task, overdue, action, opportunity
    run_once()
    clock.move_to(at(1, 6))
    run_once(as_of=TODAY + datetime.timedelta(days=1))
    assert [(n.user_id, n.subject_key) for n in notifications()] == first


def test_an_attended_or_released_blocking_notification_is_not_raised_again(
    clock, make_task, administrator
):
    make_task(due_at=at(-4))
    run_once()
    Notification.objects.update(state=NotificationState.ATTENDED, attended_at=at(0, 13))
    run_once()
    assert Notification.objects.count() == 1


def test_a_reminder_moved_to_another_day_notifies_again(clock, make_action):
    action = make_action(reminder_at=at(0, 15))
    run_once(REMINDERS_ONLY)
    action.reminder_at = at(1, 15)
    action.save()
    run_once(REMINDERS_ONLY)
    assert len(notifications()) == 2


def test_a_batch_repeated_reports_the_records_already_notified(clock, make_action):
    action = make_action(reminder_at=at(0, 15))
    params = NotificationsProcess.validate_parameters(REMINDERS_ONLY)
    key = 3 * KEY_STRIDE + action.pk
    process = NotificationsProcess()
    (first,) = process.process_batch(params, [key], as_of=TODAY, run_number=None)
    (again,) = process.process_batch(params, [key], as_of=TODAY, run_number=None)
    assert first.ok
    assert "Non-blocking notification for user" in first.message
    assert again.ok
    assert again.message == "already notified"
    assert Notification.objects.count() == 1


def test_a_record_no_longer_due_gets_an_error_outcome(clock, make_action):
    action = make_action(reminder_at=at(0, 15))
    params = NotificationsProcess.validate_parameters(REMINDERS_ONLY)
    action.performed_at = at(0, 12)
    action.save()
    (outcome,) = NotificationsProcess().process_batch(
        params, [3 * KEY_STRIDE + action.pk], as_of=TODAY, run_number=None
    )
    assert not outcome.ok
    assert "no longer due" in outcome.message


# -- through the engine ----------------------------------------------------------------------


def test_a_run_on_the_engine_notifies_every_source_in_batches(
    clock, run_process, *, make_task, make_action, make_opportunity, make_event, make_invoice
):
    make_task(reminder_at=at(0, 15), due_at=at(4))
    make_task(due_at=at(-3))
    make_action(reminder_at=at(0, 16))
    make_opportunity(reminder_at=at(1, 9))
    make_event(reminder_at=at(1, 8))
    make_invoice(reminder_at=at(0, 10))
    run = run_process(KEY, {}, batch_size=2)
    assert run.state == RunState.COMPLETED
    assert (run.total, run.succeeded, run.failed) == (6, 6, 0)
    kinds = sorted(n.subject_key.split(":")[0] for n in notifications())
    assert kinds == ["action", "event", "invoice", "opportunity", "task", "task"]
    again = run_process(KEY, {})
    assert (again.total, again.succeeded) == (5, 5)  # the five reminders, found notified
    assert Notification.objects.filter(subject_key__contains=":").count() == 6
    assert not RunItem.objects.filter(run=again, ok=False).exists()


def test_parameters_are_checked_with_the_field_named():
    with pytest.raises(ParameterError) as error:
        NotificationsProcess.validate_parameters(
            {"reminder_sources": ["fax"], "blocking_deadline_hours": 0}
        )
    assert set(error.value.errors) == {"reminder_sources.0", "blocking_deadline_hours"}


def test_the_automatic_agenda_holds_the_default_schedules(db):
    from nightshift.runs.actions import agenda_schedule

    assert agenda_schedule(KEY) == {"mode": "cron", "expression": "0 6 * * *"}
    assert agenda_schedule("alerts.parc_agreements") == {"mode": "cron", "expression": "0 5 * * 1"}
