"""Managing archives: download (the CSVs equal the archived rows), delete (the chunks go),
restore (field for field), conflicts reported per row; password and audit on each."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from nightshift.archiving import actions
from nightshift.archiving.choices import ArchiveState, AuditAction
from nightshift.archiving.models import ArchiveAuditEntry, ArchiveChunk
from nightshift.crm import models as crm
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def snapshot(model, **lookup) -> dict[int, dict]:
    """Every column of every row, keyed by id (foreign keys as ids)."""
    fields = [f.attname for f in model._meta.concrete_fields]
    return {row["id"]: row for row in model._base_manager.filter(**lookup).values(*fields)}


def download(user, archive) -> zipfile.ZipFile:
    _archive, stream = actions.download_archive(user=user, archive_id=archive.pk, password=PASSWORD)
    return zipfile.ZipFile(io.BytesIO(b"".join(stream)))


def test_download_holds_one_csv_per_model_equal_to_the_archived_rows(
    make_event, archive_run, archivist
):
    events = [make_event() for _ in range(3)]
    before = snapshot(crm.CustomerEvent)
    awarded_before = snapshot(crm.AwardedEvent)
    run = archive_run()
    archive = run_archive(run)
    zf = download(archivist, archive)
    assert sorted(zf.namelist()) == [
        "crm_awardedevent.csv",
        "crm_customerevent.csv",
        "crm_spendrewardtransaction.csv",
        "manifest.json",
    ]
    rows = list(csv.DictReader(io.TextIOWrapper(zf.open("crm_customerevent.csv"), "utf-8")))
    assert [int(r["id"]) for r in rows] == [e.pk for e in events]
    for row in rows:
        original = before[int(row["id"])]
        assert row["reference"] == original["reference"]
        assert row["description"] == original["description"]
        assert row["amount"] == str(original["amount"])
        assert row["created_at"] == original["created_at"].isoformat()
        assert row["contact_id"] == str(original["contact_id"])
    awarded = list(csv.DictReader(io.TextIOWrapper(zf.open("crm_awardedevent.csv"), "utf-8")))
    assert {int(r["id"]) for r in awarded} == set(awarded_before)
    manifest = json.loads(zf.read("manifest.json"))
    assert manifest["archive"]["id"] == archive.pk
    files = {f["file"]: f for f in manifest["files"]}
    assert files["crm_customerevent.csv"]["rows"] == 3
    assert "DateTimeField" in files["crm_customerevent.csv"]["types"]


def run_archive(run):
    from nightshift.archiving.models import Archive

    return Archive.objects.get(run_number=run.pk)


def test_download_and_delete_are_audited(archived, archivist):
    archive, _p, _s = archived()
    download(archivist, archive)
    actions.delete_archive(user=archivist, archive_id=archive.pk, password=PASSWORD)
    assert list(ArchiveAuditEntry.objects.order_by("pk").values_list("action", flat=True)) == [
        AuditAction.DOWNLOAD,
        AuditAction.DELETE,
    ]


def test_download_needs_the_password(archived, archivist):
    archive, _p, _s = archived()
    with pytest.raises(ValidationError, match="not correct"):
        actions.download_archive(user=archivist, archive_id=archive.pk, password="wrong")
    assert ArchiveAuditEntry.objects.get().action == AuditAction.PASSWORD_REFUSED


def test_an_operator_cannot_download_or_delete(archived, operator):
    archive, _p, _s = archived()
    with pytest.raises(PermissionDenied):
        actions.download_archive(user=operator, archive_id=archive.pk, password=PASSWORD)
    with pytest.raises(PermissionDenied):
        actions.delete_archive(user=operator, archive_id=archive.pk, password=PASSWORD)
    assert ArchiveChunk.objects.filter(archive=archive).exists()


def test_delete_removes_the_chunks_and_keeps_the_record(archived, archivist):
    archive, _p, spend = archived()
    actions.delete_archive(user=archivist, archive_id=archive.pk, password=PASSWORD)
    archive.refresh_from_db()
    assert archive.state == ArchiveState.DELETED
    assert archive.deleted_by == archivist
    assert not ArchiveChunk.objects.filter(archive=archive).exists()
    spend.refresh_from_db()
    assert spend.is_archive_read_only
    with pytest.raises(ValidationError, match="was deleted"):
        actions.download_archive(user=archivist, archive_id=archive.pk, password=PASSWORD)


@pytest.mark.parametrize(
    ("entity", "maker"),
    [
        ("purchase_events", "make_event"),
        ("provisioning_requests", "make_provisioning"),
        ("rated_billing_items", "make_rated_item"),
        ("process_run_logs", "make_old_run"),
    ],
)
def test_restore_round_trip_equals_the_original_field_for_field(
    request, archive_run, archivist, entity, maker
):
    from nightshift.archiving.registry import get_entity

    make = request.getfixturevalue(maker)
    for _ in range(3):
        make()
    spec = get_entity(entity)
    models = spec.models()
    before = {m: snapshot(m) for m in models}
    run = archive_run(entity)
    archive = run_archive(run)
    actions.restore_archive(user=archivist, archive_id=archive.pk, password=PASSWORD)
    for model in models:
        after = snapshot(model)
        if entity == "process_run_logs":
            after = {k: v for k, v in after.items() if k in before[model]}
        assert after == before[model], model._meta.label
    archive.refresh_from_db()
    assert archive.state == ArchiveState.RESTORED
    assert not ArchiveChunk.objects.filter(archive=archive).exists()


def test_restore_relinks_references_and_lifts_the_read_only_mark(archived, archivist):
    archive, purchases, spend = archived()
    actions.restore_archive(user=archivist, archive_id=archive.pk, password=PASSWORD)
    spend.refresh_from_db()
    assert spend.related_event_id == purchases[0].pk
    assert not spend.is_archive_read_only
    spend.description = "editable again"
    spend.save()


def test_a_reference_reused_meanwhile_is_a_conflict_reported_per_row(
    archived, archivist, make_event
):
    archive, purchases, _spend = archived()
    taken = make_event("purchase", reference=purchases[1].reference)
    restored = actions.restore_archive(user=archivist, archive_id=archive.pk, password=PASSWORD)
    assert restored.state == ArchiveState.PARTLY_RESTORED
    assert [
        (c["id"], "reference" in c["message"].lower() or "exists" in c["message"])
        for c in restored.restore_report
    ] == [(purchases[1].pk, True)]
    # Nothing live was overwritten; the other two are back; the conflicting row stays archived.
    assert crm.CustomerEvent.objects.get(pk=taken.pk).reference == purchases[1].reference
    assert crm.CustomerEvent.objects.filter(pk__in=[purchases[0].pk, purchases[2].pk]).count() == 2
    assert not crm.CustomerEvent.objects.filter(pk=purchases[1].pk).exists()
    assert restored.rows == {
        "crm.customerevent": 1,
        "crm.awardedevent": 2,
        "crm.spendrewardtransaction": 1,
    }
    # Once the code is free again, restoring again brings the last row back.
    taken.delete()
    again = actions.restore_archive(user=archivist, archive_id=archive.pk, password=PASSWORD)
    assert again.state == ArchiveState.RESTORED
    assert crm.CustomerEvent.objects.filter(pk=purchases[1].pk).exists()


def test_a_record_gone_meanwhile_is_a_conflict(make_event, archive_run, archivist, world):
    make_event()
    archive = run_archive(archive_run())
    crm.RewardParticipant.objects.all().delete()
    restored = actions.restore_archive(user=archivist, archive_id=archive.pk, password=PASSWORD)
    assert restored.state == ArchiveState.PARTLY_RESTORED
    assert "no longer exists" in restored.restore_report[0]["message"]
