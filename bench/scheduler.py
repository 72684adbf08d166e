"""Benchmark of the scheduler on PostgreSQL against APScheduler 3 on the same server.

1. Idle tick: the median cost of a tick when nothing is due (``fire_due`` and ``Loop.tick``)
   with 1,000, 10,000 and 100,000 scheduled tasks of mixed modes (repeat, advanced, cron, rrule,
   once; three time zones). Target: under 5 ms and flat.
2. Burst: a tenth of them (10,000) made due at one whole minute; ``fire_due`` is called in a
   loop from that instant until nothing is due. Firings per second (target at least 1,000) and
   the lateness of each firing (commit of its run and queue row minus its slot), p50 and p99.
3. The same schedules as APScheduler 3 jobs in its SQLAlchemyJobStore (``postgresql+psycopg``),
   woken by hand so that one wakeup (``_process_jobs``) can be timed: its idle wakeup at the
   same sizes and its burst with a job function that only counts; the ratios.

Runs on a scratch database it creates and drops; waits for a whole minute twice (the bursts).

    .venv/bin/python bench/scheduler.py [--tasks 100000] [--burst 10000] [--ticks 200]

Sizes also come from NIGHTSHIFT_BENCH_TASKS and NIGHTSHIFT_BENCH_BURST.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import pickle
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from _common import (
    analyze,
    django_on,
    median,
    peak_rss_mb,
    percentile,
    scratch_database,
    target,
)

try:
    from apscheduler.executors.debug import DebugExecutor
    from apscheduler.job import Job
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.base import BaseScheduler
    from apscheduler.triggers.calendarinterval import CalendarIntervalTrigger
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.date import DateTrigger
    from apscheduler.triggers.interval import IntervalTrigger
    from apscheduler.util import datetime_to_utc_timestamp
except ImportError:  # the peer is the point of the ratio: without it there is no benchmark
    sys.exit("APScheduler 3 is missing: pip install -e '.[bench]' (make bench does it).")

MODES = ("repeat", "advanced", "cron", "rrule", "once")
ZONES = ("UTC", "Europe/Lisbon", "America/Sao_Paulo")
WEEKDAY_SETS = (("MO",), ("MO", "TH"), ("TU", "WE", "FR"), ("SA", "SU"), ("MO", "TU", "WE", "TH"))
APS_DAYS = {"MO": "mon", "TU": "tue", "WE": "wed", "TH": "thu", "FR": "fri", "SA": "sat"}
APS_DAYS["SU"] = "sun"
STD = "subscriptions.leave_short_term_deactivation"
TICK_TARGET_MS = 5.0
FLAT_FACTOR = 2.0  # "flat": the tick at the largest size costs at most this times the smallest
FIRING_TARGET = 1_000  # firings per second
LOAD_CHUNK = 5_000
UTC = dt.UTC


@dataclass(frozen=True)
class Schedule:
    """One schedule, as Nightshift scheduling settings and as an APScheduler trigger."""

    settings: dict
    trigger: Callable[[], object]


def _wall(moment: dt.datetime) -> str:
    return moment.replace(tzinfo=None).isoformat(timespec="seconds")


def idle_schedule(index: int, base: dt.date) -> Schedule:
    """The ``index``-th schedule of the idle population: every mode, zone and shape mixed, all
    starting ``base`` (days ahead, so nothing becomes due while the benchmark runs)."""
    zone_name = ZONES[index % len(ZONES)]
    zone = ZoneInfo(zone_name)
    hour, minute = index % 24, (index // 24) % 60
    start = dt.datetime.combine(base, dt.time(hour, minute), tzinfo=zone)
    mode = MODES[index % len(MODES)]
    common = {"mode": mode, "timezone": zone_name}
    if mode == "repeat":
        every, unit = 1 + index % 59, ("minutes", "hours", "days")[(index // 5) % 3]
        settings = {**common, "every": every, "unit": unit, "start": {"at": _wall(start)}}
        if unit == "days":
            trigger = lambda: CalendarIntervalTrigger(  # noqa: E731
                days=every, hour=hour, minute=minute, start_date=base, timezone=zone
            )
        else:
            trigger = lambda: IntervalTrigger(**{unit: every}, start_date=start, timezone=zone)  # noqa: E731
    elif mode == "advanced":
        days = WEEKDAY_SETS[index % len(WEEKDAY_SETS)]
        settings = {
            **common,
            "start": _wall(start),
            "repeat": {"weekly": {"weekdays": list(days)}},
        }
        trigger = lambda: CronTrigger(  # noqa: E731
            day_of_week=",".join(APS_DAYS[d] for d in days),
            hour=hour,
            minute=minute,
            start_date=start,
            timezone=zone,
        )
    elif mode == "cron":
        dow = ("*", "MON-FRI", "SAT,SUN")[index % 3]
        settings = {**common, "expression": f"{minute} {hour} * * {dow}", "start": _wall(start)}
        trigger = lambda: CronTrigger(  # noqa: E731
            minute=minute, hour=hour, day_of_week=dow.lower(), start_date=start, timezone=zone
        )
    elif mode == "rrule":
        every = 1 + index % 7
        settings = {**common, "rrule": f"FREQ=DAILY;INTERVAL={every}", "start": _wall(start)}
        trigger = lambda: CalendarIntervalTrigger(  # noqa: E731
            days=every, hour=hour, minute=minute, start_date=base, timezone=zone
        )
    else:
        at = start + dt.timedelta(days=index % 365)
        settings = {**common, "at": _wall(at)}
        trigger = lambda: DateTrigger(run_date=at, timezone=zone)  # noqa: E731
    return Schedule(settings, trigger)


def burst_schedule(index: int, slot: dt.datetime) -> Schedule:
    """The ``index``-th schedule of the burst: every mode, with ``slot`` as its current firing."""
    zone_name = ZONES[index % len(ZONES)]
    zone = ZoneInfo(zone_name)
    local = slot.astimezone(zone)
    mode = MODES[index % len(MODES)]
    common = {"mode": mode, "timezone": zone_name}
    if mode == "repeat":
        every = 1 + index % 59
        settings = {**common, "every": every, "unit": "minutes", "start": {"at": _wall(local)}}
        trigger = lambda: IntervalTrigger(minutes=every, start_date=slot, timezone=zone)  # noqa: E731
    elif mode == "advanced":
        settings = {**common, "start": _wall(local), "repeat": {"daily": {"every": 1}}}
        trigger = lambda: CronTrigger(  # noqa: E731
            hour=local.hour, minute=local.minute, start_date=slot, timezone=zone
        )
    elif mode == "cron":
        settings = {**common, "expression": f"{local.minute} {local.hour} * * *"}
        trigger = lambda: CronTrigger(  # noqa: E731
            minute=local.minute, hour=local.hour, start_date=slot, timezone=zone
        )
    elif mode == "rrule":
        every = 1 + index % 6
        settings = {**common, "rrule": f"FREQ=HOURLY;INTERVAL={every}", "start": _wall(local)}
        trigger = lambda: IntervalTrigger(hours=every, start_date=slot, timezone=zone)  # noqa: E731
    else:
        settings = {**common, "at": _wall(local)}
        trigger = lambda: DateTrigger(run_date=slot, timezone=zone)  # noqa: E731
    return Schedule(settings, trigger)


def next_whole_minute(margin: float) -> dt.datetime:
    """The first whole minute at least ``margin`` seconds from now (a cron slot, in any of the
    zones: their offsets are whole minutes)."""
    soon = dt.datetime.now(UTC) + dt.timedelta(seconds=margin)
    return soon.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)


def sleep_until(moment: dt.datetime) -> None:
    while (left := (moment - dt.datetime.now(UTC)).total_seconds()) > 0:
        time.sleep(min(left, 1.0))


def timed(call: Callable[[], object], times: int, warm_up: int = 5) -> list[float]:
    """Seconds taken by each of ``times`` calls, after ``warm_up`` untimed ones."""
    for _ in range(warm_up):
        call()
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return seconds


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def stages(total: int) -> list[int]:
    return sorted({size for size in (1_000, 10_000) if size < total} | {total})


# -- Nightshift ------------------------------------------------------------------------------


class Nightshift:
    """The scheduled tasks of the population, loaded with the demo's executemany writer."""

    def __init__(self, base: dt.date) -> None:
        from nightshift.runs.models import ApplicationServer

        self.base = base
        self.server_id = ApplicationServer.default().pk
        self.count = 0
        self.task_ids: list[int] = []

    def _normalised(self, settings: dict) -> tuple[dict, object]:
        from nightshift.scheduling.specs import parse_schedule

        spec = parse_schedule(settings)
        return spec.model_dump(mode="json"), spec  # as submit_definition stores it

    def load(self, upto: int) -> None:
        """Submit idle tasks until there are ``upto``: a definition and a task each, the task's
        next firing computed as ``submit_definition`` computes it."""
        from django.utils import timezone

        from nightshift.crm.demo.generator import Row, Sink, _SilentReporter
        from nightshift.runs.models import MisfirePolicy, RunDefinition, ScheduledTask, TaskState
        from nightshift.scheduling.specs import firings

        now = timezone.now()
        sink = Sink(_SilentReporter())
        for index in range(self.count, upto):
            settings, spec = self._normalised(idle_schedule(index, self.base).settings)
            first = next(firings(spec, anchor=now, after=now - dt.timedelta(microseconds=1)))
            definition = sink.new_id(RunDefinition)
            sink.add(
                Row(
                    RunDefinition,
                    id=definition,
                    process_key=STD,
                    name=f"Bench schedule {index}",
                    unified_code=f"B{index:07d}",
                    schedule=settings,
                    server_id=self.server_id,
                )
            )
            task = sink.new_id(ScheduledTask)
            sink.add(
                Row(
                    ScheduledTask,
                    id=task,
                    definition_id=definition,
                    state=TaskState.SCHEDULED,
                    schedule=settings,
                    anchor=now,
                    next_fire_at=first,
                    misfire_policy=MisfirePolicy.FIRE_ONCE,
                    server_id=self.server_id,
                )
            )
            self.task_ids.append(task)
        sink.flush()
        sink.reset_sequences()
        self.count = upto
        analyze("runs_rundefinition", "runs_scheduledtask")

    def make_burst(self, size: int, slot: dt.datetime) -> None:
        """Spread over the population, ``size`` tasks get a schedule whose firing is ``slot``."""
        from nightshift.runs.models import RunDefinition, ScheduledTask

        step = max(1, self.count // size)
        chosen = self.task_ids[::step][:size]
        tasks = list(ScheduledTask.objects.filter(pk__in=chosen).order_by("pk"))
        definitions = []
        for position, task in enumerate(tasks):
            task.schedule, _spec = self._normalised(burst_schedule(position, slot).settings)
            task.next_fire_at = slot
            definitions.append(RunDefinition(pk=task.definition_id, schedule=task.schedule))
        ScheduledTask.objects.bulk_update(tasks, ["schedule", "next_fire_at"], batch_size=1000)
        RunDefinition.objects.bulk_update(definitions, ["schedule"], batch_size=1000)
        analyze("runs_rundefinition", "runs_scheduledtask")

    @staticmethod
    def idle(ticks: int) -> tuple[list[float], list[float]]:
        from nightshift.runs.models import ProcessRun
        from nightshift.runs.scheduler import Loop, fire_due

        fire = timed(fire_due, ticks)
        loop = Loop()
        tick = timed(loop.tick, ticks)
        if ProcessRun.objects.exists():
            raise RuntimeError("an idle tick fired a run: the population was meant to be idle")
        return fire, tick

    @staticmethod
    def burst(size: int, slot: dt.datetime) -> tuple[int, float, list[float]]:
        """Fire the burst from ``slot`` on: (firings, seconds, lateness of each task's firing
        of ``slot``, in seconds)."""
        from django.utils import timezone
        from django_tasks_db.models import DBTaskResult

        from nightshift.runs.models import ProcessRun
        from nightshift.runs.scheduler import fire_due

        lateness: list[float] = []
        fired = 0
        sleep_until(slot)
        started = finished = time.perf_counter()
        while runs := fire_due():
            late = (timezone.now() - slot).total_seconds()  # fire_due returns after its commit
            finished = time.perf_counter()
            fired += len(runs)
            # A burst slower than a minute also fires the next slot of every-minute tasks.
            lateness.extend(late for run in runs if run.scheduled_for == slot)
        runs, queued = ProcessRun.objects.count(), DBTaskResult.objects.count()
        if not fired == runs == queued or len(lateness) != size:
            raise RuntimeError(
                f"burst of {size}: {len(lateness)} slots fired, {runs} runs, {queued} queued"
            )
        return fired, finished - started, lateness


# -- APScheduler 3 ---------------------------------------------------------------------------

FIRED: list[float] = []


def count_firing() -> None:
    """The job every APScheduler job runs: it only notes when it ran."""
    FIRED.append(time.time())


class ManualScheduler(BaseScheduler):
    """APScheduler 3 with no thread of its own: it wakes up only when the benchmark calls
    ``_process_jobs`` (what its threads call on every wakeup), so that one wakeup is timed."""

    def wakeup(self) -> None:
        pass

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)


class Peer:
    """The same schedules as APScheduler jobs in a SQLAlchemyJobStore on the same server."""

    def __init__(self, url: str, base: dt.date) -> None:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # no line per firing
        self.base = base
        self.count = 0
        self.store = SQLAlchemyJobStore(url=url.replace("postgres://", "postgresql+psycopg://"))
        self.scheduler = ManualScheduler(
            jobstores={"default": self.store},
            executors={"default": DebugExecutor()},  # runs the job in the wakeup, no pool
            # Like Nightshift's misfire policy "fire once now": a late burst still fires once.
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone=UTC,
        )
        self.scheduler.start()

    def _state(self, index: int, trigger, next_run: dt.datetime | None) -> dict:
        job = Job(
            self.scheduler,
            id=str(index),
            func=count_firing,
            args=(),
            kwargs={},
            name=f"bench-{index}",
            trigger=trigger,
            executor="default",
            misfire_grace_time=None,
            coalesce=True,
            max_instances=1,
            next_run_time=next_run,
        )
        return {
            "id": job.id,
            "next_run_time": datetime_to_utc_timestamp(job.next_run_time),
            "job_state": pickle.dumps(job.__getstate__(), self.store.pickle_protocol),
        }

    def load(self, upto: int) -> None:
        """Add idle jobs until there are ``upto``, rows exactly as ``add_job`` writes them but
        inserted many at a time (``add_job`` commits one by one)."""
        now = dt.datetime.now(UTC)
        rows = []
        for index in range(self.count, upto):
            trigger = idle_schedule(index, self.base).trigger()
            rows.append(self._state(index, trigger, trigger.get_next_fire_time(None, now)))
            if len(rows) == LOAD_CHUNK:
                self._insert(rows)
                rows = []
        self._insert(rows)
        self.count = upto
        with self.store.engine.begin() as connection:
            connection.exec_driver_sql(f"ANALYZE {self.store.jobs_t.name}")

    def _insert(self, rows: list[dict]) -> None:
        if rows:
            with self.store.engine.begin() as connection:
                connection.execute(self.store.jobs_t.insert(), rows)

    def make_burst(self, size: int, slot: dt.datetime) -> None:
        from sqlalchemy import bindparam

        step = max(1, self.count // size)
        chosen = list(range(0, self.count, step))[:size]
        table = self.store.jobs_t
        rows = []
        for position, index in enumerate(chosen):
            state = self._state(index, burst_schedule(position, slot).trigger(), slot)
            rows.append({"key": state["id"], **{k: v for k, v in state.items() if k != "id"}})
        update = (
            table.update()
            .where(table.c.id == bindparam("key"))
            .values(next_run_time=bindparam("next_run_time"), job_state=bindparam("job_state"))
        )
        with self.store.engine.begin() as connection:
            connection.execute(update, rows)
            connection.exec_driver_sql(f"ANALYZE {table.name}")

    def idle(self, ticks: int) -> list[float]:
        seconds = timed(self.scheduler._process_jobs, ticks)
        if FIRED:
            raise RuntimeError("an idle APScheduler wakeup ran a job")
        return seconds

    def burst(self, size: int, slot: dt.datetime) -> tuple[int, float, list[float]]:
        sleep_until(slot)
        started = finished = time.perf_counter()
        while True:
            before = len(FIRED)
            self.scheduler._process_jobs()
            if len(FIRED) == before:
                break
            finished = time.perf_counter()
        if len(FIRED) < size:
            raise RuntimeError(f"APScheduler burst of {size}: {len(FIRED)} fired")
        moment = slot.timestamp()
        return len(FIRED), finished - started, [fired - moment for fired in FIRED[:size]]

    def close(self) -> None:
        self.scheduler.shutdown()
        self.store.engine.dispose()


# -- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tasks", type=int, default=int(os.environ.get("NIGHTSHIFT_BENCH_TASKS", "100000"))
    )
    parser.add_argument(
        "--burst", type=int, default=int(os.environ.get("NIGHTSHIFT_BENCH_BURST", "10000"))
    )
    parser.add_argument("--ticks", type=int, default=200, help="idle ticks timed per size")
    options = parser.parse_args()
    if not 0 < options.burst <= options.tasks:
        parser.error("--burst must be between 1 and --tasks")

    with scratch_database("scheduler") as url, django_on(url):
        from django.db import connection

        base = dt.date.today() + dt.timedelta(days=3)
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
        print(
            f"scheduler on PostgreSQL {version}: {options.tasks:,} scheduled tasks "
            f"({', '.join(MODES)}; zones {', '.join(ZONES)}), burst of {options.burst:,}"
        )
        ours, peer = Nightshift(base), Peer(url, base)
        idle_rows = []
        try:
            for size in stages(options.tasks):
                started = time.perf_counter()
                ours.load(size)
                peer.load(size)
                loaded = time.perf_counter() - started
                fire, tick = ours.idle(options.ticks)
                wakeup = peer.idle(options.ticks)
                idle_rows.append((size, fire, tick, wakeup, loaded))

            print(f"idle tick, nothing due: median / p99 of {options.ticks} calls, in ms")
            print(
                f"  {'tasks':>9}  {'fire_due':>15}  {'Loop.tick':>15}  "
                f"{'APScheduler':>15}  {'APScheduler/Loop.tick':>22}"
            )
            for size, fire, tick, wakeup, _loaded in idle_rows:
                print(
                    f"  {size:>9,}  {ms(median(fire)):>7} / {ms(percentile(fire, 99)):>5}"
                    f"  {ms(median(tick)):>7} / {ms(percentile(tick, 99)):>5}"
                    f"  {ms(median(wakeup)):>7} / {ms(percentile(wakeup, 99)):>5}"
                    f"  {median(wakeup) / median(tick):>21.1f}x"
                )

            slot = next_whole_minute(margin=20)
            ours.make_burst(options.burst, slot)
            print(f"burst: {options.burst:,} tasks due at {slot:%H:%M:%S} UTC", flush=True)
            ours_fired, ours_seconds, ours_late = ours.burst(options.burst, slot)
            slot = next_whole_minute(margin=20)
            peer.make_burst(options.burst, slot)
            peer_fired, peer_seconds, peer_late = peer.burst(options.burst, slot)
        finally:
            peer.close()

        ours_rate = ours_fired / ours_seconds
        peer_rate = peer_fired / peer_seconds
        print(
            f"  {'':<26}{'firings':>8}  {'elapsed s':>9}  {'firings/s':>9}  "
            f"{'lateness p50':>12}  {'p99':>8}"
        )
        for name, fired, rate, seconds, late in (
            ("Nightshift fire_due loop", ours_fired, ours_rate, ours_seconds, ours_late),
            ("APScheduler 3 wakeups", peer_fired, peer_rate, peer_seconds, peer_late),
        ):
            print(
                f"  {name:<26}{fired:>8,}  {seconds:>9.2f}  {rate:>9,.0f}  "
                f"{median(late) * 1000:>9.0f} ms  {percentile(late, 99) * 1000:>5.0f} ms"
            )
        print(f"  ratio Nightshift/APScheduler firings/s: {ours_rate / peer_rate:.1f}x")
        print(f"peak RSS {peak_rss_mb():.0f} MB")

        smallest, largest = idle_rows[0], idle_rows[-1]
        tick_largest = median(largest[2])
        flatness = tick_largest / median(smallest[2])
        print("targets:")
        print(
            target(
                f"idle Loop.tick median at {largest[0]:,} tasks",
                f"{ms(tick_largest)} ms",
                f"< {TICK_TARGET_MS:g} ms",
                tick_largest * 1000 < TICK_TARGET_MS,
            )
        )
        print(
            target(
                f"idle tick flat ({largest[0]:,} vs {smallest[0]:,} tasks)",
                f"{flatness:.2f}x",
                f"<= {FLAT_FACTOR:g}x",
                flatness <= FLAT_FACTOR,
            )
        )
        print(
            target(
                f"burst of {options.burst:,}: firings per second",
                f"{ours_rate:,.0f}/s",
                f">= {FIRING_TARGET:,}/s",
                ours_rate >= FIRING_TARGET,
            )
        )


if __name__ == "__main__":
    main()
