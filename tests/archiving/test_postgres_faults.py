"""A real worker killed with SIGKILL in the middle of an archive run on PostgreSQL: the batch
in flight rolls back with the connection, a second worker takes the run over above the last
committed chunk, and in the end every row is archived exactly once, none lost."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from nightshift.archiving.models import Archive, ArchiveChunk
from nightshift.crm.models import (
    AwardedEvent,
    Contact,
    CustomerEvent,
    RewardParticipant,
    RewardScheme,
    SpendRewardTransaction,
)
from nightshift.runs import actions as runs
from nightshift.runs.models import ProcessRun, RunState
from tests.archiving._invariants import assert_nothing_lost_nothing_twice, snapshot_ids
from tests.conftest import PASSWORD
from tests.runs._processes import Processes, environment, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

EVENTS = 10_000
BATCH = 200
MODELS = (CustomerEvent, AwardedEvent, SpendRewardTransaction)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    (tmp_path / "var").mkdir()
    group = Processes(environment(tmp_path / "var"), tmp_path / "logs")
    try:
        yield group
    finally:
        group.kill_all()


def old_purchases(count: int) -> None:
    contact = Contact.objects.create(code="K1", first_name="Kim")
    scheme = RewardScheme.objects.create(code="RS", name="Points")
    participant = RewardParticipant.objects.create(
        scheme=scheme, contact=contact, joined_on=datetime.date(2020, 1, 1)
    )
    old = timezone.now() - datetime.timedelta(days=800)
    events = CustomerEvent.objects.bulk_create(
        CustomerEvent(
            kind="purchase",
            reference=f"P{n:07d}",
            contact=contact,
            occurred_at=old,
            amount=Decimal("9.99"),
            currency="EUR",
            created_at=old,
        )
        for n in range(count)
    )
    AwardedEvent.objects.bulk_create(
        AwardedEvent(
            customer_event=event, participant=participant, points=Decimal(2), awarded_at=old
        )
        for event in events
        for _ in range(2)
    )
    SpendRewardTransaction.objects.bulk_create(
        SpendRewardTransaction(
            customer_event=event, participant=participant, points=Decimal(1), spent_at=old
        )
        for event in events
    )


def test_worker_killed_mid_archive_run_loses_nothing_and_archives_nothing_twice(
    archivist, processes
):
    old_purchases(EVENTS)
    original = snapshot_ids(*MODELS)
    definition = runs.create_definition(
        user=archivist,
        process_key="archive_data",
        name="Archive purchases",
        parameters={"entity": "purchase_events", "months": 12},
        schedule={"mode": "now"},
        notify_on_completion=False,
    )
    task = runs.submit_definition(
        user=archivist, unified_code=definition.unified_code, password=PASSWORD
    )
    env = {"NIGHTSHIFT_BATCH_SIZE": BATCH}
    first = processes.worker("worker-killed", **env)
    assert processes.scheduler("scheduler-once", "--once").wait() == 0
    run = ProcessRun.objects.get(task=task)
    wait_for(
        lambda: ProcessRun.objects.filter(pk=run.pk, processed__gt=0).exists(),
        what="the first worker to commit a chunk",
        watch=processes,
    )
    assert first.kill() == -9
    run.refresh_from_db()
    assert 0 < run.processed < EVENTS, "killed too late to be mid-run"
    # What the killed worker committed is archived; the chunk in flight is not.
    assert_nothing_lost_nothing_twice(original)
    assert ArchiveChunk.objects.count() == run.processed // BATCH

    second = processes.worker("worker-second", **env)
    scheduler = processes.scheduler("scheduler-loop", "--interval", "0.5")
    wait_for(
        lambda: ProcessRun.objects.filter(pk=run.pk, state__in=RunState.ended()).exists(),
        what="the run to be taken over and end",
        watch=processes,
    )
    assert second.terminate(timeout=60) == 0, second.describe()
    assert scheduler.terminate(timeout=60) == 0, scheduler.describe()
    run.refresh_from_db()
    assert run.state == RunState.COMPLETED, run.message
    archived = assert_nothing_lost_nothing_twice(original)
    assert len(archived) == EVENTS * 4
    assert not CustomerEvent.objects.exists()
    archive = Archive.objects.get(run_number=run.pk)
    assert archive.total_rows == EVENTS * 4
    assert archive.state == "completed"
