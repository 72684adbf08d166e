"""Benchmark of the notifications process on PostgreSQL: action reminders and overdue tasks
spread over 200 owners, turned into dashboard notifications by ``engine.execute``.

Figures: records per second of the run and its peak RSS, against a baseline measured in the
same run on a smaller sample: a per-record ORM loop (read one record, look its notification
up, create it), committing every batch like the engine, so that only the per-record work
differs. Then the same run again, which finds everything notified (the daily re-run's cost).

Runs on a scratch database it creates and drops:

    .venv/bin/python bench/notifications.py [--records 200000] [--baseline 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from collections.abc import Iterator

from _common import analyze, django_on, peak_rss_mb, reset_peak_rss, scratch_database

AS_OF = dt.date(2026, 11, 23)
OWNERS = 200


def load(records: int, baseline: int) -> None:
    """``records`` action reminders for today and as many tasks five days overdue for the
    engine; ``baseline`` more reminders a year earlier for the per-record loop."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from nightshift.core.bulk import insert_rows
    from nightshift.crm.models import Action, Contact, Task

    User.objects.bulk_create(User(username=f"owner{n}") for n in range(OWNERS))
    owners = list(User.objects.values_list("pk", flat=True))
    contact = Contact.objects.create(code="C1", first_name="Ana")
    noon = timezone.make_aware(dt.datetime.combine(AS_OF, dt.time(12)))
    last_year = noon - dt.timedelta(days=365)

    def actions() -> Iterator[tuple]:
        for n in range(records + baseline):
            when = noon if n < records else last_year
            yield ("call", contact.pk, owners[n % OWNERS], f"Call {n}", when, noon, noon)

    insert_rows(
        Action,
        ("kind", "contact", "owner", "description", "reminder_at", "created_at", "updated_at"),
        actions(),
    )
    insert_rows(
        Task,
        (
            "subject",
            "description",
            "contact",
            "owner",
            "state",
            "due_at",
            "created_at",
            "updated_at",
        ),
        (
            (
                f"Task {n}",
                "",
                contact.pk,
                owners[n % OWNERS],
                "open",
                noon - dt.timedelta(days=5),
                noon,
                noon,
            )
            for n in range(records)
        ),
    )
    analyze("crm_action", "crm_task", "crm_notification")


def new_run():
    from nightshift.alerts.processes import NotificationsProcess
    from nightshift.runs.models import ApplicationServer, ProcessRun, RunDefinition

    server = ApplicationServer.default()
    definition, _created = RunDefinition.objects.get_or_create(
        unified_code="BENCHNOTIF",
        defaults={
            "process_key": NotificationsProcess.key,
            "name": "Bench: notifications",
            "parameters": NotificationsProcess.validate_parameters({"task_expiring_days": None}),
            "schedule": {"mode": "now"},
            "server": server,
        },
    )
    return ProcessRun.objects.create(
        definition=definition, process_key=definition.process_key, server=server, as_of=AS_OF
    )


def per_record_baseline(batch_size: int) -> tuple[int, float]:
    """The year-old reminders, notified one record at a time: (records, seconds)."""
    from django.db import transaction

    from nightshift.crm.choices import NotificationKind
    from nightshift.crm.models import Action, Notification

    ids = list(
        Action.objects.filter(reminder_at__lt=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    started = time.perf_counter()
    for offset in range(0, len(ids), batch_size):
        with transaction.atomic():
            for pk in ids[offset : offset + batch_size]:
                action = Action.objects.select_related("contact").get(pk=pk)
                key = f"action:{pk}:reminder:{action.reminder_at:%Y%m%dT%H%M}"
                if not Notification.objects.filter(
                    user_id=action.owner_id, subject_key=key
                ).exists():
                    Notification.objects.create(
                        user_id=action.owner_id,
                        kind=NotificationKind.NON_BLOCKING,
                        title=f"Reminder: call with {action.contact.code}",
                        subject_key=key,
                        deadline=action.reminder_at,
                    )
    return len(ids), time.perf_counter() - started


def timed_run(batch_size: int | None):
    from nightshift.runs import engine

    run = new_run()
    reset_peak_rss()
    started = time.perf_counter()
    ended = engine.execute(run.pk, worker_id="bench", batch_size=batch_size)
    return ended, time.perf_counter() - started, peak_rss_mb()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--records", type=int, default=int(os.environ.get("NIGHTSHIFT_BENCH_RECORDS", "200000"))
    )
    parser.add_argument(
        "--baseline", type=int, default=int(os.environ.get("NIGHTSHIFT_BENCH_BASELINE", "10000"))
    )
    options = parser.parse_args()
    with scratch_database("notifications") as url, django_on(url):
        from django.conf import settings

        from nightshift.crm.models import Notification

        batch_size = settings.NIGHTSHIFT_BATCH_SIZE
        started = time.perf_counter()
        load(options.records, options.baseline)
        print(f"notifications on PostgreSQL, batches of {batch_size:,}")
        print(
            f"  loaded {options.records:,} reminders and {options.records:,} overdue tasks "
            f"(+{options.baseline:,} for the baseline) in {time.perf_counter() - started:.1f} s"
        )
        sample, baseline_seconds = per_record_baseline(batch_size)
        baseline_rate = sample / baseline_seconds
        first, seconds, peak = timed_run(None)
        created = Notification.objects.count() - sample
        again, again_seconds, _peak = timed_run(None)
        rate = first.processed / seconds
        print(f"  {'':<34}{'records':>10}  {'seconds':>8}  {'records/s':>10}")
        print(
            f"  {'per-record ORM loop':<34}{sample:>10,}  {baseline_seconds:>8.1f}  "
            f"{baseline_rate:>10,.0f}"
        )
        label = "engine.execute (first run)"
        print(f"  {label:<34}{first.processed:>10,}  {seconds:>8.1f}  {rate:>10,.0f}")
        print(
            f"  {'engine.execute (re-run)':<34}{again.processed:>10,}  {again_seconds:>8.1f}  "
            f"{again.processed / again_seconds:>10,.0f}"
        )
        print(f"  ratio {rate / baseline_rate:.1f}x the per-record loop")
        print(
            f"  run #{first.pk} {first.state}: {created:,} notifications; re-run #{again.pk} "
            f"{again.state}: {again.processed:,} records re-read, "
            f"{Notification.objects.count() - sample - created} created"
        )
        print(f"  peak RSS during the first run {peak:.0f} MB")


if __name__ == "__main__":
    main()
