"""Fault injection: an exception in the middle of a chunk or between chunks, and a chunk that
does not verify. Afterwards live + archived rows equal the original, none twice, and running
again carries on. (The SIGKILL of a real worker is in test_postgres_faults.py.)"""

from __future__ import annotations

import pytest

from nightshift.archiving import actions, archiver, codec
from nightshift.archiving.choices import ArchiveState
from nightshift.archiving.models import Archive, ArchiveChunk
from nightshift.archiving.processes import ArchiveData
from nightshift.crm.models import AwardedEvent, CustomerEvent, SpendRewardTransaction
from tests.archiving._invariants import assert_nothing_lost_nothing_twice, snapshot_ids
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

MODELS = (CustomerEvent, AwardedEvent, SpendRewardTransaction)


@pytest.fixture
def five_old_purchases(make_event):
    for _ in range(5):
        make_event()
    return snapshot_ids(*MODELS)


def failing_on_call(original, n: int):
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise RuntimeError("injected fault")
        return original(*args, **kwargs)

    return wrapper


def test_an_exception_mid_chunk_rolls_the_chunk_back(five_old_purchases, archive_run, monkeypatch):
    # Batch 2 fails after its awarded events are deleted, before its parents are.
    monkeypatch.setattr(archiver, "_delete", failing_on_call(archiver._delete, 5))
    run = archive_run(batch_size=2)
    assert run.state == "failed"
    assert "injected fault" in run.message
    archived = assert_nothing_lost_nothing_twice(five_old_purchases)
    assert ArchiveChunk.objects.count() == 1
    assert sum(1 for (model, _pk) in archived if model == "crm.customerevent") == 2
    monkeypatch.undo()
    again = archive_run(batch_size=2)
    assert again.state == "completed"
    archived = assert_nothing_lost_nothing_twice(five_old_purchases)
    assert not CustomerEvent.objects.exists()
    assert len(archived) == 5 * 4


def test_an_exception_between_chunks_keeps_the_chunks_committed(
    five_old_purchases, archive_run, monkeypatch, archivist
):
    monkeypatch.setattr(ArchiveData, "next_keys", failing_on_call(ArchiveData.next_keys, 3))
    run = archive_run(batch_size=2)
    assert run.state == "failed"
    assert ArchiveChunk.objects.count() == 2
    assert_nothing_lost_nothing_twice(five_old_purchases)
    assert CustomerEvent.objects.count() == 1
    # The failed run's archive is incomplete: what it holds can be restored.
    archive = actions.get_archive(Archive.objects.get(run_number=run.pk).pk)
    assert archive.state == ArchiveState.INCOMPLETE
    actions.restore_archive(user=archivist, archive_id=archive.pk, password=PASSWORD)
    assert CustomerEvent.objects.count() == 5
    monkeypatch.undo()
    archive_run(batch_size=2)
    assert_nothing_lost_nothing_twice(five_old_purchases)
    assert not CustomerEvent.objects.exists()


def test_a_chunk_that_does_not_verify_deletes_nothing(five_old_purchases, archive_run, monkeypatch):
    def corrupt(data, *, sha256, rows):
        raise codec.ChunkError("the chunk's SHA-256 does not match the digest stored with it")

    monkeypatch.setattr(codec, "verify", corrupt)
    run = archive_run(batch_size=2)
    assert run.state == "failed"
    assert "SHA-256" in run.message
    assert not ArchiveChunk.objects.exists()
    assert snapshot_ids(*MODELS) == five_old_purchases


def test_a_stored_chunk_that_was_altered_fails_verification(make_event, archive_run):
    make_event()
    archive_run()
    chunk = ArchiveChunk.objects.get()
    raw = codec.decompress(chunk.data) + b"[1]\n"
    with pytest.raises(codec.ChunkError, match="SHA-256"):
        codec.decompress(_zstd(raw), sha256=chunk.sha256)
    with pytest.raises(codec.ChunkError, match="holds"):
        codec.verify(chunk.data, sha256=chunk.sha256, rows={"crm.customerevent": 2})


def _zstd(raw: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor().compress(raw)
