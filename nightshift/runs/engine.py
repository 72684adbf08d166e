"""Executes a process run: candidate records in batches, one transaction per batch.

The engine knows no process by name: it asks the registered process for the keys of its next
records (by default, primary keys of its candidates queryset) and hands it batches of them.
Each batch commits together with the run's ``cursor`` (the last key of the batch), its counters
and its run items, so that:

- a stop request rolls back the batch in flight and the run ends *stopped*, with every record
  of the committed batches processed;
- a worker killed mid-run leaves the run at its last committed batch, and the worker that takes
  it over carries on above the cursor: no record is processed twice or skipped;
- a run that lost its claim (taken over after its worker was presumed dead) rolls back rather
  than racing its successor.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from nightshift.core.bulk import insert_rows
from nightshift.processes.base import ALL_SUCCEEDED, Outcome, ProcessFailed
from nightshift.processes.registry import get_process
from nightshift.runs.models import LogEntry, LogLevel, ProcessRun, RunItem, RunState

logger = logging.getLogger(__name__)

BATCH_SIZE = getattr(settings, "NIGHTSHIFT_BATCH_SIZE", 1000)
# SQLite lets one writer in at a time, and a waiting writer only retries now and then (its
# busy handler sleeps up to 100 ms between tries): a run committing batch after batch would
# keep a Stop, a Submit or the scheduler's tick waiting until their timeout. After every two
# seconds of batches the engine pauses, outside any transaction, long enough for a retry to
# get in — about 7 % of the run's time, and a stop lands within two or three seconds.
SQLITE_PAUSE_EVERY = 2.0
SQLITE_PAUSE = 0.15
# Set when the worker is asked to shut down: the run in progress is handed back to its queue
# after the current batch commits.
SHUTDOWN = threading.Event()


class _Stopped(Exception):
    pass


class _ClaimLost(Exception):
    pass


def _log(run: ProcessRun, message: str, level: str = LogEntry.Level.INFO) -> None:
    LogEntry.objects.create(run=run, source=LogEntry.Source.RUN, level=level, message=message)


def claim(run_id: int, worker_id: str) -> ProcessRun | None:
    """Take a run that no worker holds; ``None`` if it is gone, ended or held by another."""
    claimed = ProcessRun.objects.filter(
        pk=run_id, state__in=RunState.active(), worker_id="", stop_requested=False
    ).update(
        state=RunState.IN_PROGRESS,
        worker_id=worker_id,
        started_at=Coalesce(F("started_at"), timezone.now()),
    )
    if not claimed:
        return None
    return ProcessRun.objects.select_related("definition", "server").get(pk=run_id)


def execute(
    run_id: int,
    *,
    worker_id: str,
    batch_size: int | None = None,
    progress: Callable[[ProcessRun], None] | None = None,
) -> ProcessRun | None:
    """Claim run ``run_id`` for ``worker_id`` and process it to its end (or until it is
    stopped, its worker shuts down, or it fails). Returns the run as it ended (or as it was
    handed back), or ``None`` if it could not be claimed or was taken over meanwhile."""
    run = claim(run_id, worker_id)
    if run is None:
        # A stop request that reached a run nobody holds ends it here.
        ProcessRun.objects.filter(
            pk=run_id, state=RunState.IN_PROGRESS, worker_id="", stop_requested=True
        ).update(state=RunState.STOPPED, ended_at=timezone.now())
        return None
    return _Execution(run, worker_id, batch_size, progress).run()


class _Execution:
    """One worker's hold on one run, from claim to finish."""

    def __init__(self, run: ProcessRun, worker_id: str, batch_size: int | None, progress) -> None:
        from nightshift.runs.actions import Throttle

        self.run_ = run
        self.worker_id = worker_id
        self.batch_size = batch_size
        self.progress = progress or (lambda _run: None)
        definition = run.definition
        self.throttle = (
            Throttle.model_validate(definition.throttle) if definition.throttle else None
        )
        self.keep_successes = definition.log_level == LogLevel.ALL
        self.params = definition.parameters
        self.paused_at = time.monotonic()

    def run(self) -> ProcessRun | None:
        run = self.run_
        if run.processed == 0 and run.cursor == 0:
            message = _("Run #%(number)s started on %(worker)s.")
        else:
            message = _("Run #%(number)s resumed on %(worker)s after record %(cursor)s.")
        _log(run, message % {"number": run.pk, "worker": self.worker_id, "cursor": run.cursor})
        try:
            return self._process_all()
        except _Stopped:
            return self._finish(state=RunState.STOPPED)
        except _ClaimLost:
            logger.warning("Run %s was taken over from %s; leaving it", run.pk, self.worker_id)
            return None
        except Exception as exc:
            if isinstance(exc, ProcessFailed):
                message = str(exc)
            else:
                logger.exception("Run %s failed", run.pk)
                message = _("The run failed after record %(cursor)s: %(error)s") % {
                    "cursor": run.cursor,
                    "error": exc,
                }
            return self._finish(state=RunState.FAILED, message=message)

    def _process_all(self) -> ProcessRun | None:
        """Batch after batch to the end, the throttling cap, a stop or a shutdown."""
        run = self.run_
        self.process = get_process(run.process_key)()
        # The caller's size (tests, benchmarks), else the process's own, else the setting.
        self.batch_size = self.batch_size or self.process.batch_size or BATCH_SIZE
        self._count()
        self.progress(run)
        with _collector_paused():
            while True:
                if self._stop_requested():
                    raise _Stopped
                if SHUTDOWN.is_set():
                    return _release(run, self.worker_id)
                limit = self.batch_size
                if self.throttle:
                    limit = min(limit, self.throttle.max_records - run.processed)
                    if limit <= 0:
                        return self._finish(records_left=bool(self._next_keys(1)))
                if not self._batch(limit):
                    break
                self.progress(run)
                self._let_other_writers_in()
        with transaction.atomic():
            self.process.complete(self.params, as_of=run.as_of, run_number=run.pk)
        return self._finish()

    def _let_other_writers_in(self) -> None:
        if connection.vendor != "sqlite":
            return
        if time.monotonic() - self.paused_at >= SQLITE_PAUSE_EVERY:
            time.sleep(SQLITE_PAUSE)
            self.paused_at = time.monotonic()

    def _next_keys(self, limit: int) -> list[int]:
        run = self.run_
        return self.process.next_keys(self.params, as_of=run.as_of, after=run.cursor, limit=limit)

    def _count(self) -> None:
        run = self.run_
        if run.total is not None:
            return
        total = self.process.count(self.params, as_of=run.as_of, after=run.cursor) + run.processed
        run.total = min(total, self.throttle.max_records) if self.throttle else total
        ProcessRun.objects.filter(pk=run.pk).update(total=run.total)

    def _stop_requested(self) -> bool:
        return ProcessRun.objects.filter(pk=self.run_.pk, stop_requested=True).exists()

    def _batch(self, limit: int) -> bool:
        """Process the next ``limit`` candidates in one transaction; False when none is left."""
        run = self.run_
        with transaction.atomic():
            ids = self._next_keys(limit)
            if not ids:
                return False
            outcomes = self.process.process_batch(
                self.params, ids, as_of=run.as_of, run_number=run.pk
            )
            if outcomes is ALL_SUCCEEDED:
                succeeded = len(ids)
                if self.keep_successes:
                    _store_items(run.pk, [Outcome(record_id, True) for record_id in ids])
            else:
                _check_outcomes(self.process, ids, outcomes)
                succeeded = sum(1 for outcome in outcomes if outcome.ok)
                _store_items(run.pk, [o for o in outcomes if self.keep_successes or not o.ok])
            # Checked last, inside the batch: a stop asked for while it ran undoes it. The
            # check is part of the update, which waits for a stop holding the run's row and
            # then sees it; a separate read before it would miss a stop committing meanwhile.
            held = ProcessRun.objects.filter(
                pk=run.pk, worker_id=self.worker_id, stop_requested=False
            ).update(
                cursor=ids[-1],
                processed=F("processed") + len(ids),
                succeeded=F("succeeded") + succeeded,
                failed=F("failed") + len(ids) - succeeded,
            )
            if not held:
                raise _Stopped if self._stop_requested() else _ClaimLost
        run.cursor = ids[-1]
        run.processed += len(ids)
        run.succeeded += succeeded
        run.failed += len(ids) - succeeded
        return True

    def _finish(self, **kwargs) -> ProcessRun | None:
        return _finish(self.run_, self.worker_id, throttle=self.throttle, **kwargs)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector waits while a run's batches run. A batch makes tens
    of thousands of containers (rows, values, outcomes) that reference counting frees on its
    own; every few hundred of them the collector would otherwise walk the young objects, and
    now and then every object of the worker: a third of an import's time went there. Let
    run between batches, it walked what the next batch had made ready (tens of milliseconds a
    batch, while nothing else ran). It runs again once the run's batches are over; garbage in
    cycles made meanwhile waits until then."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _store_items(run_id: int, outcomes) -> None:
    """The run items of a batch, inserted without a model instance each (COPY on PostgreSQL):
    a run logging successes stores an item per record."""
    insert_rows(
        RunItem,
        ("run", "record_id", "ok", "message"),
        ((run_id, outcome.record_id, outcome.ok, outcome.message) for outcome in outcomes),
    )


def _check_outcomes(process, ids: list[int], outcomes) -> None:
    returned = [outcome.record_id for outcome in outcomes]
    if returned != ids and sorted(returned) != sorted(ids):  # in the batch's order, or any
        raise RuntimeError(
            f"process {process.key} returned outcomes for other records than the batch it got"
        )


def _release(run: ProcessRun, worker_id: str) -> ProcessRun:
    """The worker is shutting down: the run goes back to its queue, resumable above its cursor."""
    from nightshift.runs.tasks import enqueue_run

    with transaction.atomic():
        if ProcessRun.objects.filter(pk=run.pk, worker_id=worker_id).update(worker_id=""):
            _log(
                run,
                _(
                    "Worker %(worker)s is shutting down; run #%(number)s goes back to the queue "
                    "after record %(cursor)s."
                )
                % {"worker": worker_id, "number": run.pk, "cursor": run.cursor},
            )
            enqueue_run(run)
    run.refresh_from_db()
    return run


def _finish(
    run: ProcessRun,
    worker_id: str,
    *,
    state: str | None = None,
    message: str = "",
    records_left: bool = False,
    throttle=None,
) -> ProcessRun | None:
    from nightshift.runs.scheduler import refire_after_throttle

    run.refresh_from_db()
    if state is None:
        state = RunState.COMPLETED_WITH_ERRORS if run.failed else RunState.COMPLETED
    if state == RunState.STOPPED and not message:
        message = _(
            "Stopped on request; the batch in flight was rolled back and %(processed)s records "
            "stay processed."
        ) % {"processed": run.processed}
    if records_left and not message:
        message = _(
            "Stopped at the throttling cap of %(cap)s records with records left; "
            "it starts again after the set delay."
        ) % {"cap": throttle.max_records}
    with transaction.atomic():
        ended = ProcessRun.objects.filter(pk=run.pk, worker_id=worker_id).update(
            state=state,
            ended_at=timezone.now(),
            message=message,
            records_left=records_left,
            worker_id="",
        )
        if not ended:
            return None
        run.refresh_from_db()
        level = {
            RunState.FAILED: LogEntry.Level.ERROR,
            RunState.COMPLETED_WITH_ERRORS: LogEntry.Level.WARNING,
        }.get(state, LogEntry.Level.INFO)
        _log(
            run,
            _(
                "Run #%(number)s ended %(state)s: %(succeeded)s succeeded, %(failed)s failed. "
                "%(message)s"
            )
            % {
                "number": run.pk,
                "state": run.get_state_display(),
                "succeeded": run.succeeded,
                "failed": run.failed,
                "message": message,
            },
            level,
        )
        if records_left and throttle is not None:
            refire_after_throttle(run, throttle.delay())
        transaction.on_commit(lambda: notify_requester(run))
    return run


def _process_text(run: ProcessRun) -> str:
    """What the run's process adds to its summary (an import's figures), on its own line."""
    try:
        text = get_process(run.process_key).describe_run(run)
    except LookupError:
        return ""
    return f"{text}\n" if text else ""


def notify_requester(run: ProcessRun) -> None:
    """The summary at the end of a run: a notification on the requester's dashboard and, when
    the definition asks for it, an e-mail (the TOTVS "e-mail de resumo")."""
    from nightshift.crm.choices import NotificationKind
    from nightshift.crm.models import Notification

    user = run.requested_by
    if user is None:
        return
    link = reverse("runs:run", args=[run.pk])
    title = _("Run #%(number)s of %(name)s: %(state)s") % {
        "number": run.pk,
        "name": run.definition.name,
        "state": run.get_state_display(),
    }
    body = _(
        "Process: %(process)s\nDefinition: %(code)s version %(version)s\nState: %(state)s\n"
        "Started: %(started)s\nEnded: %(ended)s\nRecords: %(total)s, succeeded %(succeeded)s, "
        "failed %(failed)s\n%(message)s\n\nDetails: %(link)s\n"
    ) % {
        "process": run.process_key,
        "code": run.definition.unified_code,
        "version": run.definition.version,
        "state": run.get_state_display(),
        "started": timezone.localtime(run.started_at).isoformat(timespec="seconds")
        if run.started_at
        else "-",
        "ended": timezone.localtime(run.ended_at).isoformat(timespec="seconds")
        if run.ended_at
        else "-",
        "total": run.total or 0,
        "succeeded": run.succeeded,
        "failed": run.failed,
        "message": run.message,
        "link": settings.NIGHTSHIFT_BASE_URL.rstrip("/") + link,
    }
    body += _process_text(run)
    Notification.objects.create(
        user=user,
        kind=NotificationKind.NON_BLOCKING,
        title=title[:200],
        message=body,
        link=link,
        subject_key=f"run:{run.pk}",
    )
    if run.definition.notify_on_completion and user.email:
        # Through the one sending path: the suppression list is checked there, the message
        # recorded, and a refusal of the mail server comes back as a delivery, never raised.
        from nightshift.mail.sending import Letter, send_letters

        letter = Letter(key=run.pk, to=user.email, subject=title, text=body)
        delivery = send_letters([letter], run_number=run.pk)[run.pk]
        if not delivery.ok:
            _log(
                run,
                _("The summary e-mail to %(email)s could not be sent.") % {"email": user.email}
                + " "
                + delivery.message,
                LogEntry.Level.WARNING,
            )
