"""The scheduler: firing due slots once, Standby, missed firings, throttled re-firing and the
takeover of runs whose worker died."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from nightshift.runs import actions
from nightshift.runs.models import (
    ApplicationServer,
    LogEntry,
    MisfirePolicy,
    ProcessRun,
    RunState,
    ScheduledTask,
    SchedulerState,
    TaskState,
    Worker,
)
from nightshift.runs.scheduler import (
    Loop,
    create_run,
    fire_due,
    refire_after_throttle,
    take_over_orphans,
)
from nightshift.runs.tasks import enqueue_run

EVERY_MINUTE = {
    "mode": "repeat",
    "every": 1,
    "unit": "minutes",
    "start": {"after": {"every": 1, "unit": "minutes"}},
}


@pytest.fixture
def every_minute(define, operator, scheduler_running):
    def submit(**fields) -> ScheduledTask:
        definition = define(schedule=EVERY_MINUTE, **fields)
        return actions.submit_definition(user=operator, unified_code=definition.unified_code)

    return submit


def test_nothing_fires_before_its_slot(every_minute):
    every_minute()
    assert fire_due() == []
    assert not ProcessRun.objects.exists()


def test_a_due_slot_fires_one_run_queued_on_its_server_and_moves_to_the_next_slot(every_minute):
    task = every_minute()
    slot = task.next_fire_at
    (run,) = fire_due(slot + timedelta(seconds=1))
    assert (run.task, run.scheduled_for, run.state) == (task, slot, RunState.DRAFT)
    assert run.requested_by == task.requested_by
    queued = DBTaskResult.objects.get()
    assert queued.queue_name == ApplicationServer.default().name
    assert queued.args_kwargs["args"] == [run.pk]
    task.refresh_from_db()
    assert task.next_fire_at == slot + timedelta(minutes=1)
    assert (task.fired_count, task.state) == (1, TaskState.SCHEDULED)


def test_a_slot_fires_once_however_often_the_scheduler_ticks(every_minute):
    task = every_minute()
    moment = task.next_fire_at + timedelta(seconds=5)
    fire_due(moment)
    assert fire_due(moment) == []
    assert ProcessRun.objects.filter(task=task).count() == 1


def test_the_database_refuses_a_second_run_for_the_same_slot(every_minute):
    task = every_minute()
    (run,) = fire_due(task.next_fire_at)
    with pytest.raises(IntegrityError), transaction.atomic():
        create_run(task, run.scheduled_for)


def test_a_run_now_task_fires_once_then_completes(define, operator, scheduler_running):
    task = actions.submit_definition(user=operator, unified_code=define().unified_code)
    assert len(fire_due()) == 1
    task.refresh_from_db()
    assert task.state == TaskState.COMPLETED
    assert task.next_fire_at is None
    assert fire_due(timezone.now() + timedelta(days=1)) == []


def test_a_task_on_a_named_server_is_queued_there(every_minute):
    ApplicationServer.objects.create(name="night")
    task = every_minute(server="night")
    fire_due(task.next_fire_at)
    assert DBTaskResult.objects.get().queue_name == "night"


def test_in_standby_nothing_fires(every_minute, administrator):
    task = every_minute()
    actions.set_scheduler_state(user=administrator, running=False)
    assert fire_due(task.next_fire_at + timedelta(seconds=1)) == []
    assert LogEntry.objects.filter(message__contains="standby").exists()


def test_only_scheduler_controllers_switch_the_scheduler(operator, db):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        actions.set_scheduler_state(user=operator, running=False)
    assert SchedulerState.get().running


def test_after_standby_missed_slots_fire_once_now_and_the_rest_are_logged_as_skipped(
    every_minute, administrator
):
    task = every_minute()
    first = task.next_fire_at
    actions.set_scheduler_state(user=administrator, running=False)
    later = first + timedelta(minutes=5, seconds=30)  # slots first … first+5min missed
    assert fire_due(later) == []
    actions.set_scheduler_state(user=administrator, running=True)
    (run,) = fire_due(later)
    assert run.scheduled_for == first + timedelta(minutes=5)  # the latest missed slot
    skipped = LogEntry.objects.filter(task=task, message__startswith="Skipped")
    assert skipped.count() == 5
    task.refresh_from_db()
    assert task.next_fire_at == first + timedelta(minutes=6)


def test_with_the_skip_policy_every_missed_slot_is_skipped_and_logged(every_minute):
    task = every_minute(misfire_policy=MisfirePolicy.SKIP)
    first = task.next_fire_at
    assert fire_due(first + timedelta(minutes=2, seconds=30)) == []
    assert LogEntry.objects.filter(task=task, message__startswith="Skipped").count() == 3
    task.refresh_from_db()
    assert task.next_fire_at == first + timedelta(minutes=3)


def test_a_slot_fired_late_within_the_grace_is_not_a_misfire(every_minute):
    task = every_minute(misfire_policy=MisfirePolicy.SKIP)
    (run,) = fire_due(task.next_fire_at + timedelta(seconds=30))
    assert run.scheduled_for == task.next_fire_at


def test_a_throttled_run_with_records_left_makes_its_task_fire_again_after_the_delay(
    every_minute,
):
    task = every_minute()
    (run,) = fire_due(task.next_fire_at)
    task.refresh_from_db()
    regular = task.next_fire_at
    refire_after_throttle(run, timedelta(seconds=10))
    task.refresh_from_db()
    assert task.next_fire_at < regular
    # A delay longer than the regular slot leaves the regular slot alone.
    refire_after_throttle(run, timedelta(hours=1))
    task.refresh_from_db()
    assert task.next_fire_at < regular


def test_runs_of_a_worker_that_stopped_heartbeating_are_queued_again(every_minute, settings):
    task = every_minute()
    (run,) = fire_due(task.next_fire_at)
    server = ApplicationServer.default()
    Worker.objects.create(
        worker_id="dead",
        server=server,
        hostname="h",
        pid=1,
        last_seen=timezone.now() - timedelta(seconds=settings.NIGHTSHIFT_WORKER_TIMEOUT + 5),
    )
    Worker.objects.create(worker_id="alive", server=server, hostname="h", pid=2)
    task.refresh_from_db()
    ProcessRun.objects.filter(pk=run.pk).update(state=RunState.IN_PROGRESS, worker_id="dead")
    other = create_run(task, task.next_fire_at)
    ProcessRun.objects.filter(pk=other.pk).update(state=RunState.IN_PROGRESS, worker_id="alive")
    DBTaskResult.objects.all().delete()
    # The dead worker's queue row, and the live one's.
    for held in (run, other):
        enqueue_run(held)
    DBTaskResult.objects.update(status=TaskResultStatus.RUNNING)

    assert [r.pk for r in take_over_orphans()] == [run.pk]
    run.refresh_from_db()
    assert run.worker_id == ""
    assert run.state == RunState.IN_PROGRESS
    rows = DBTaskResult.objects.filter(args_kwargs__args__0=run.pk)
    assert sorted(rows.values_list("status", flat=True)) == [
        TaskResultStatus.FAILED,
        TaskResultStatus.READY,
    ]
    assert DBTaskResult.objects.get(args_kwargs__args__0=other.pk).status == (
        TaskResultStatus.RUNNING
    )
    assert LogEntry.objects.filter(run=run, message__contains="stopped responding").exists()
    assert take_over_orphans() == []


@pytest.mark.django_db(transaction=True)  # the loop closes stale connections between ticks
def test_the_loop_ticks_once_fires_and_records_its_heartbeat(every_minute, time_machine):
    task = every_minute()
    time_machine.move_to(task.next_fire_at + timedelta(seconds=1))
    Loop(interval=0).run(once=True)
    assert ProcessRun.objects.filter(task=task).count() == 1
    assert SchedulerState.get().last_tick_at is not None


def test_the_loop_returns_when_asked_to_stop(db):
    loop = Loop(interval=60)
    loop.stopping.set()
    loop.run()  # returns at once instead of ticking for a minute
    assert SchedulerState.get().last_tick_at is None
