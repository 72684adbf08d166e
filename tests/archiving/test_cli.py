"""``nightshift archive`` and ``nightshift archives``: password from --password-stdin, JSON."""

from __future__ import annotations

import io
import json
import sys
import zipfile

import pytest
from django.core.management import CommandError, call_command

from nightshift.archiving.choices import ArchiveState
from nightshift.archiving.models import Archive, ArchiveChunk
from nightshift.crm.models import CustomerEvent
from nightshift.runs import actions as runs
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def nightshift(monkeypatch):
    """``nightshift(*args, password=...)``: run a command as the archivist, the password piped
    on standard input; returns stdout."""

    def run(*args: str, password: str | None = PASSWORD, user: str = "arthur") -> str:
        extra = ["--user", user]
        if password is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
            extra.append("--password-stdin")
        out = io.StringIO()
        call_command(*args, *extra, stdout=out, stderr=io.StringIO())
        return out.getvalue()

    return run


def test_archive_inline_prints_the_summary_with_archived_rows_and_archive_id(
    nightshift, make_event, archivist
):
    make_event(), make_event()
    summary = json.loads(
        nightshift("archive", "purchase_events", "--months", "12", "--inline", "--json")
    )
    archive = Archive.objects.get()
    assert summary["state"] == "completed"
    assert summary["archive_id"] == archive.pk
    assert summary["archived"] == {
        "crm.customerevent": 2,
        "crm.awardedevent": 4,
        "crm.spendrewardtransaction": 2,
    }
    assert not CustomerEvent.objects.exists()


def test_archive_with_a_wrong_password_is_refused(nightshift, make_event, archivist):
    make_event()
    with pytest.raises(CommandError, match="not correct"):
        nightshift("archive", "purchase_events", "--inline", password="wrong")
    assert CustomerEvent.objects.exists()


def test_archive_refuses_an_operator(nightshift, operator):
    with pytest.raises(CommandError, match="Archivists"):
        nightshift("archive", "purchase_events", "--inline", user="olivia")


def test_archive_below_the_minimum_names_the_minimum(nightshift, archivist):
    with pytest.raises(CommandError, match="at least 12 months"):
        nightshift("archive", "purchase_events", "--months", "6", "--inline")


def test_definitions_submit_reads_the_password_for_an_archive_definition(nightshift, archivist):
    definition = runs.create_definition(
        user=archivist,
        process_key="archive_data",
        name="Archive",
        parameters={"entity": "purchase_events"},
        schedule={"mode": "now"},
    )
    out = json.loads(
        nightshift("definitions", "submit", definition.unified_code, "--inline", "--json")
    )
    assert out["state"] == "completed"
    with pytest.raises(CommandError, match="not correct"):
        nightshift("definitions", "submit", definition.unified_code, password="nope")


def test_archives_list_download_restore_and_delete(nightshift, archived, archivist, tmp_path):
    archive, _purchases, _spend = archived()
    listing = json.loads(nightshift("archives", "list", "--json", password=None))
    assert [row["id"] for row in listing] == [archive.pk]
    target = tmp_path / "a.zip"
    nightshift("archives", "download", str(archive.pk), "-o", str(target))
    assert "manifest.json" in zipfile.ZipFile(target).namelist()
    restored = json.loads(nightshift("archives", "restore", str(archive.pk), "--json"))
    assert restored["state"] == ArchiveState.RESTORED
    with pytest.raises(CommandError, match="cannot be restored"):
        nightshift("archives", "restore", str(archive.pk))


def test_archives_delete_removes_the_chunks(nightshift, archived):
    archive, _p, _s = archived()
    deleted = json.loads(nightshift("archives", "delete", str(archive.pk), "--json"))
    assert deleted["deleted"] is True
    assert not ArchiveChunk.objects.exists()
