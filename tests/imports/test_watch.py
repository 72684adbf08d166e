"""The watched import folder: each new file is imported whole, then moved to processed/ (with
its error file beside it) or failed/ (with the reason)."""

from __future__ import annotations

import os
import time

import pytest
from django.core.exceptions import ValidationError

from nightshift.crm.models import Contact
from nightshift.imports.models import DataImport
from nightshift.imports.processes import WatchImportFolder
from nightshift.runs import actions
from nightshift.runs.models import RunItem, RunState
from nightshift.runs.scheduler import fire_task_now
from tests.imports.conftest import execute
from tests.imports.files import csv_bytes, read_sheet, xlsx_bytes


@pytest.fixture
def folder(settings):
    path = settings.NIGHTSHIFT_IMPORT_DIR / "inbox"
    path.mkdir()
    return path


def drop(folder, name: str, content: bytes, *, settled: bool = True):
    path = folder / name
    path.write_bytes(content)
    if settled:
        past = time.time() - 60
        os.utime(path, (past, past))
    return path


@pytest.fixture
def watch(operator, folder, scheduler_running):
    """A watched-folder definition; ``watch()`` fires one run of it and executes it."""

    def define(**params):
        return actions.create_definition(
            user=operator,
            process_key=WatchImportFolder.key,
            name="Inbox",
            parameters={"entity": "contacts", "directory": "inbox", "pattern": "*.*", **params},
            schedule={"mode": "now"},
        )

    def run(**params):
        definition = define(**params)
        task = actions.submit_definition(user=operator, unified_code=definition.unified_code)
        return execute(fire_task_now(task))

    run.define = define
    return run


def test_each_new_file_is_imported_and_moved_with_its_error_file(
    watch, folder, django_capture_on_commit_callbacks
):
    drop(
        folder,
        "a.csv",
        csv_bytes([["Code", "First name", "E-mail"], ["C1", "Ana", "x@y.z"], ["C2", "Bia", "bad"]]),
    )
    drop(folder, "b.xlsx", xlsx_bytes([["Code", "First name"], ["C3", "Caio"]]))
    with django_capture_on_commit_callbacks(execute=True):
        run = watch()
    assert run.state == RunState.COMPLETED
    assert set(Contact.objects.values_list("code", flat=True)) == {"C1", "C3"}
    processed = folder / "processed"
    assert sorted(p.name for p in processed.iterdir()) == ["a.csv", "a.errors.csv", "b.xlsx"]
    assert "“bad” is not a valid e-mail address" in (processed / "a.errors.csv").read_text()
    assert sorted(p.name for p in folder.iterdir()) == ["processed"]
    summary = run.summary()
    assert (summary["created"], summary["rejected"]) == (2, 1)


def test_a_file_that_cannot_be_imported_goes_to_failed_with_the_reason(
    watch, folder, django_capture_on_commit_callbacks
):
    drop(folder, "scan.pdf", b"%PDF-1.4 not a table")
    drop(folder, "good.csv", csv_bytes([["Code", "First name"], ["C1", "Ana"]]))
    with django_capture_on_commit_callbacks(execute=True):
        run = watch()
    assert run.state == RunState.COMPLETED_WITH_ERRORS
    failed = folder / "failed"
    assert sorted(p.name for p in failed.iterdir()) == ["scan.pdf", "scan.pdf.error.txt"]
    assert "not a CSV file or a spreadsheet" in (failed / "scan.pdf.error.txt").read_text()
    (message,) = RunItem.objects.filter(run=run, ok=False).values_list("message", flat=True)
    assert message.startswith("scan.pdf: This is not a CSV file")
    assert Contact.objects.get().code == "C1"
    assert DataImport.objects.get(upload__name="scan.pdf").state == "failed"


def test_only_matching_settled_files_are_picked_and_nothing_twice(
    watch, folder, django_capture_on_commit_callbacks
):
    drop(folder, "contacts-1.csv", csv_bytes([["Code", "First name"], ["C1", "Ana"]]))
    drop(folder, "notes.txt", b"Code\nC9\n")
    drop(
        folder, "contacts-2.csv", csv_bytes([["Code", "First name"], ["C2", "Bia"]]), settled=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        first = watch(pattern="contacts-*.csv")
    assert first.total == 1
    assert (folder / "notes.txt").exists()
    assert (folder / "contacts-2.csv").exists()  # still being written: left for the next run
    with django_capture_on_commit_callbacks(execute=True):
        second = watch(pattern="contacts-*.csv")
    assert second.total == 0
    assert set(Contact.objects.values_list("code", flat=True)) == {"C1"}


def test_a_folder_outside_the_import_directory_is_refused(watch):
    with pytest.raises(ValidationError) as refused:
        watch.define(directory="../../etc")
    assert "inside the import directory" in refused.value.message_dict["parameters.directory"][0]


def test_the_xlsx_error_file_of_a_watched_spreadsheet(
    watch, folder, django_capture_on_commit_callbacks
):
    drop(folder, "c.ods.xlsx", xlsx_bytes([["Code", "E-mail"], ["C1", "nope"]]))
    with django_capture_on_commit_callbacks(execute=True):
        watch()
    sheet = read_sheet(folder / "processed" / "c.ods.errors.xlsx")
    assert sheet[1][:2] == ["C1", "nope"]
