"""The scheduler: fires due scheduled tasks as process runs and takes over orphaned runs.

Any number of scheduler processes may run against one database. A tick claims due tasks with
``SELECT … FOR UPDATE SKIP LOCKED`` (on SQLite the write transaction is exclusive anyway),
and for each one, in the same transaction, creates the run for the slot (unique per task and
slot), enqueues it on the task's application server and moves ``next_fire_at`` on. A slot is
therefore fired exactly once whichever scheduler claims it, and a crash loses nothing: either
everything of the tick committed or nothing did.

Missed slots (the scheduler was in Standby, or down, for longer than the misfire grace) follow
the task's misfire policy — fire once now, or skip — and every skipped slot is logged.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from datetime import datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from nightshift.core.audit import stamp
from nightshift.runs.models import (
    LogEntry,
    MisfirePolicy,
    ProcessRun,
    RunState,
    ScheduledTask,
    SchedulerState,
    TaskState,
    Worker,
)
from nightshift.scheduling.specs import firings, parse_schedule

logger = logging.getLogger(__name__)

# How late a slot may fire and still count as on time; later than this it is a missed slot.
MISFIRE_GRACE = timedelta(seconds=getattr(settings, "NIGHTSHIFT_MISFIRE_GRACE", 60))
# Skipped slots logged one by one per task and tick; beyond this one line gives the count.
SKIP_LOG_LIMIT = 100
CLAIM_BATCH = 500
HEARTBEAT_EVERY = timedelta(seconds=5)


@lru_cache(maxsize=4096)
def _spec(schedule_json: str):
    return parse_schedule(json.loads(schedule_json))


def spec_of(task: ScheduledTask):
    return _spec(json.dumps(task.schedule, sort_keys=True))


def next_after(task: ScheduledTask, moment: datetime) -> datetime | None:
    # Strictly later: "now" counts its own instant as after itself, which must not refire.
    upcoming = firings(spec_of(task), anchor=task.anchor, after=moment)
    return next((instant for instant in upcoming if instant > moment), None)


def _new_run(task: ScheduledTask, slot: datetime | None, requested_by=None) -> ProcessRun:
    return ProcessRun(
        definition_id=task.definition_id,
        task=task,
        scheduled_for=slot,
        process_key=task.definition.process_key,
        server_id=task.server_id,
        requested_by_id=requested_by or task.requested_by_id,
        as_of=timezone.localdate(slot) if slot else timezone.localdate(),
        created_by_id=task.requested_by_id,
    )


def create_run(task: ScheduledTask, slot: datetime | None, *, requested_by=None) -> ProcessRun:
    """The run of ``task`` for ``slot``, enqueued on its server in the current transaction."""
    from nightshift.runs.tasks import enqueue_run

    run = _new_run(task, slot, requested_by)
    run.save(force_insert=True)
    enqueue_run(run)
    return run


def create_runs(slots: list[tuple[ScheduledTask, datetime]]) -> list[ProcessRun]:
    """The runs of many tasks' slots, enqueued in the current transaction: one INSERT for the
    runs and one for their queue rows, where a burst of due tasks cost two per run."""
    from nightshift.runs.tasks import enqueue_runs

    runs = ProcessRun.objects.bulk_create([_new_run(task, slot) for task, slot in slots])
    enqueue_runs(runs)
    return runs


def _fire(task: ScheduledTask, now: datetime) -> datetime | None:
    """Move ``task`` past its due slot (applying its misfire policy to missed ones) and return
    the slot to fire a run for, or ``None`` when every due slot is skipped."""
    slot = task.next_fire_at
    fire = None
    missed = now - slot > MISFIRE_GRACE
    if missed:
        # Every slot up to now was missed; find them, keeping the latest one.
        skipped = [slot]
        latest = slot
        for later in firings(spec_of(task), anchor=task.anchor, after=slot):
            if later > now:
                break
            latest = later
            if len(skipped) <= SKIP_LOG_LIMIT:
                skipped.append(later)
        if task.misfire_policy == MisfirePolicy.FIRE_ONCE:
            fire = latest
            skipped = [s for s in skipped if s != latest]
        _log_skipped(task, skipped, now)
        task.next_fire_at = next_after(task, max(latest, now))
    else:
        fire = slot
        task.next_fire_at = next_after(task, slot)
    if fire is not None:
        task.fired_count += 1
        task.last_fired_at = now
    if task.next_fire_at is None:
        task.state = TaskState.COMPLETED
    return fire


def _log_skipped(task: ScheduledTask, skipped: list[datetime], now: datetime) -> None:
    entries = [
        LogEntry(
            at=now,
            level=LogEntry.Level.WARNING,
            source=LogEntry.Source.SCHEDULER,
            task=task,
            message=_("Skipped the missed firing of task #%(task)s at %(slot)s (%(policy)s).")
            % {
                "task": task.pk,
                "slot": timezone.localtime(slot).isoformat(timespec="seconds"),
                "policy": task.get_misfire_policy_display(),
            },
        )
        for slot in skipped[:SKIP_LOG_LIMIT]
    ]
    if len(skipped) > SKIP_LOG_LIMIT:
        entries.append(
            LogEntry(
                at=now,
                level=LogEntry.Level.WARNING,
                source=LogEntry.Source.SCHEDULER,
                task=task,
                message=_("Task #%(task)s also missed more firings before %(now)s; skipped.")
                % {"task": task.pk, "now": timezone.localtime(now).isoformat(timespec="seconds")},
            )
        )
    LogEntry.objects.bulk_create(entries)


def fire_due(now: datetime | None = None, *, limit: int = CLAIM_BATCH) -> list[ProcessRun]:
    """One claim: fire up to ``limit`` due tasks in one transaction and return their runs.
    Does nothing in Standby."""
    now = now or timezone.now()
    pending = ScheduledTask.objects.filter(state=TaskState.SCHEDULED, next_fire_at__lte=now)
    # The idle tick: one read of the partial index, no transaction and no lock.
    if not pending.exists():
        return []
    if not SchedulerState.objects.filter(pk=1, running=True).exists():
        return []
    with transaction.atomic():
        due = list(
            pending.select_related("definition")
            .order_by("next_fire_at")
            .select_for_update(skip_locked=True, of=("self",))[:limit]
        )
        if not due:
            return []
        runs = create_runs([(task, slot) for task in due if (slot := _fire(task, now)) is not None])
        _save_moves(due)
    return runs


def _save_moves(tasks: list[ScheduledTask]) -> None:
    """Write the claimed tasks' next slot, state and counters (and the audit stamp an update
    gets): one UPDATE by primary key, executed for all of them in one ``executemany``.
    ``bulk_update`` built a CASE per task into one statement, which cost more than firing:
    1.6 s for 500 tasks."""
    values = stamp({}, creating=False)
    for task in tasks:
        for attname, value in values.items():
            setattr(task, attname, value)
    meta = ScheduledTask._meta
    fields = [
        meta.get_field(name)
        for name in ("next_fire_at", "state", "fired_count", "last_fired_at", *values)
    ]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    # Table and column names come from the model, never from input.
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    rows = [
        [field.get_db_prep_save(getattr(task, field.attname), connection) for field in fields]
        + [task.pk]
        for task in tasks
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def fire_task_now(task: ScheduledTask, *, now: datetime | None = None) -> ProcessRun | None:
    """Fire one task's due slot at once (``--inline``/``--wait`` on a "run now" submission),
    whatever the scheduler loop is doing; the same claim makes the loop skip it."""
    now = now or timezone.now()
    with transaction.atomic():
        task = (
            ScheduledTask.objects.select_for_update()
            .select_related("definition")
            .filter(pk=task.pk, state=TaskState.SCHEDULED, next_fire_at__lte=now)
            .first()
        )
        if task is None:
            return None
        slot = _fire(task, now)
        run = create_run(task, slot) if slot is not None else None
        task.save(update_fields=["next_fire_at", "state", "fired_count", "last_fired_at"])
    return run


def refire_after_throttle(run: ProcessRun, delay: timedelta) -> None:
    """A throttled run stopped at its cap with records left: its task fires again after
    ``delay`` (sooner than its regular slot, if that is later)."""
    if run.task_id is None:
        return
    when = timezone.now() + delay
    ScheduledTask.objects.filter(pk=run.task_id, state=TaskState.SCHEDULED).filter(
        Q(next_fire_at__isnull=True) | Q(next_fire_at__gt=when)
    ).update(next_fire_at=when)
    ScheduledTask.objects.filter(pk=run.task_id, state=TaskState.COMPLETED).update(
        state=TaskState.SCHEDULED, next_fire_at=when
    )


def take_over_orphans(now: datetime | None = None) -> list[ProcessRun]:
    """Runs in progress on a worker that stopped heartbeating go back on their server's queue;
    the next worker resumes them above their cursor."""
    from nightshift.runs.tasks import enqueue_run, fail_task_results

    now = now or timezone.now()
    timeout = timedelta(seconds=getattr(settings, "NIGHTSHIFT_WORKER_TIMEOUT", 30))
    alive = Worker.objects.filter(last_seen__gte=now - timeout).values("worker_id")
    taken = []
    with transaction.atomic():
        orphans = list(
            ProcessRun.objects.filter(state=RunState.IN_PROGRESS)
            .exclude(worker_id="")
            .exclude(worker_id__in=alive)
            .select_for_update(skip_locked=True)
        )
        for run in orphans:
            LogEntry.objects.create(
                level=LogEntry.Level.WARNING,
                source=LogEntry.Source.SCHEDULER,
                run=run,
                message=_(
                    "Worker %(worker)s stopped responding during run #%(number)s; "
                    "the run goes back to server %(server)s and resumes after record %(cursor)s."
                )
                % {
                    "worker": run.worker_id,
                    "number": run.pk,
                    "server": run.server.name,
                    "cursor": run.cursor,
                },
            )
            run.worker_id = ""
            run.save(update_fields=["worker_id"])
            # The dead worker's queue row would stay "running" for ever; it ends failed, and a
            # new one carries the run on.
            fail_task_results(run, reason="the worker stopped responding")
            enqueue_run(run)
            taken.append(run)
        Worker.objects.filter(last_seen__lt=now - timeout * 10).delete()
    return taken


class Loop:
    """``nightshift scheduler run``: tick until told to stop (SIGTERM/SIGINT), then return."""

    def __init__(self, *, interval: float = 1.0, out=None) -> None:
        self.interval = interval
        self.stopping = threading.Event()
        self.out = out
        self._last_beat: datetime | None = None

    def handle_signals(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_args: self.stopping.set())

    def tick(self) -> int:
        now = timezone.now()
        if self._last_beat is None or now - self._last_beat >= HEARTBEAT_EVERY:
            # The heartbeat /healthz reads; written now and then, so an idle tick only reads.
            SchedulerState.objects.filter(pk=1).update(last_tick_at=now)
            take_over_orphans(now)
            self._last_beat = now
        fired = 0
        while not self.stopping.is_set():
            runs = fire_due(now)
            fired += len(runs)
            if len(runs) < CLAIM_BATCH:
                break
        return fired

    def run(self, *, once: bool = False) -> None:
        while not self.stopping.is_set():
            close_old_connections()
            try:
                fired = self.tick()
            except Exception:
                logger.exception("Scheduler tick failed; trying again")
                fired = 0
            if fired and self.out:
                self.out.write(f"fired {fired} run(s)")
            if once:
                return
            self.stopping.wait(self.interval)


__all__ = [
    "Loop",
    "create_run",
    "create_runs",
    "fire_due",
    "fire_task_now",
    "next_after",
    "refire_after_throttle",
    "take_over_orphans",
]
