"""The export process under the engine: batches, stop, a crash and its resumption, the export
directory, and log levels."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from nightshift.crm.models import Contact
from nightshift.exports.actions import start_export
from nightshift.exports.models import ChunkKind, ExportChunk, ExportFile
from nightshift.exports.processes import ExportProcess
from nightshift.runs import actions as run_actions
from nightshift.runs.models import ProcessRun, RunItem, RunState
from tests.exports.conftest import file_bytes, read_csv, read_xlsx, run_to_end

pytestmark = pytest.mark.django_db


class WorkerDied(BaseException):
    """What a killed worker looks like to the code it was running: nothing catches it."""


def codes(rows) -> list[str]:
    return [row[0] for row in rows[1:]]


def on_batch(monkeypatch, hook):
    """Run ``hook(batch number)`` at the end of every batch, inside its transaction."""
    original = ExportProcess.process_batch
    seen = []

    def wrapped(self, params, ids, **kwargs):
        outcomes = original(self, params, ids, **kwargs)
        seen.append(ids)
        hook(len(seen), kwargs["run_number"])
        return outcomes

    monkeypatch.setattr(ExportProcess, "process_batch", wrapped)
    return seen


def test_errors_only_keeps_no_run_item_per_exported_row(export, contacts):
    contacts(25)
    run = export("contacts", batch_size=10)
    assert (run.state, run.total, run.succeeded, run.failed) == (RunState.COMPLETED, 25, 25, 0)
    assert not RunItem.objects.filter(run=run).exists()
    assert ExportFile.objects.get(run=run).rows == 25


def test_success_and_errors_keeps_an_item_per_exported_row(export, contacts):
    contacts(5)
    run = export("contacts", log_level="all")
    assert RunItem.objects.filter(run=run, ok=True).count() == 5


def test_a_stop_rolls_back_the_batch_in_flight_and_leaves_no_file(
    export, contacts, operator, monkeypatch
):
    made = contacts(30)

    def stop_in_third(batch, run_number):
        if batch == 3:
            run_actions.stop_run(user=operator, number=run_number)

    on_batch(monkeypatch, stop_in_third)
    run = export("contacts", batch_size=10)
    assert (run.state, run.processed) == (RunState.STOPPED, 20)
    assert not ExportFile.objects.filter(run=run).exists()
    chunks = ExportChunk.objects.filter(run=run, kind=ChunkKind.ROWS)
    assert sorted(chunks.values_list("seq", flat=True)) == [made[0].pk, made[10].pk]
    assert sum(chunks.values_list("rows", flat=True)) == 20


@pytest.mark.parametrize("file_type", ["csv", "xlsx"])
def test_a_run_resumed_after_its_worker_died_writes_each_row_exactly_once(
    operator, contacts, monkeypatch, file_type, tmp_path
):
    made = contacts(47)

    def die_in_third(batch, run_number):
        if batch == 3:
            raise WorkerDied

    on_batch(monkeypatch, die_in_third)
    started = start_export(user=operator, entity="contacts", file_type=file_type)
    with pytest.raises(WorkerDied):
        run_to_end(started.run, batch_size=10)
    run = ProcessRun.objects.get(pk=started.run.pk)
    assert (run.state, run.processed, run.cursor) == (RunState.IN_PROGRESS, 20, made[19].pk)
    # The engine's takeover of an orphan: the run goes back to its queue, nobody holds it.
    ProcessRun.objects.filter(pk=run.pk).update(worker_id="")
    monkeypatch.undo()
    ended = run_to_end(run, batch_size=10)
    assert (ended.state, ended.processed, ended.succeeded) == (RunState.COMPLETED, 47, 47)
    data = file_bytes(ended)
    rows = read_csv(data) if file_type == "csv" else read_xlsx(data, tmp_path)
    assert codes(rows) == [contact.code for contact in made]


def test_complete_called_again_after_a_crash_keeps_the_one_file(export, contacts):
    contacts(3)
    run = export("contacts", file_type="xlsx")
    before = file_bytes(run)
    ExportProcess().complete(run.definition.parameters, as_of=run.as_of, run_number=run.pk)
    assert ExportFile.objects.filter(run=run).count() == 1
    assert file_bytes(run) == before


@pytest.mark.parametrize("file_type", ["csv", "xlsx"])
def test_records_matching_when_selected_but_changed_meanwhile_are_reported(
    export, contacts, monkeypatch, file_type, tmp_path
):
    made = contacts(4, status="active")
    original = ExportProcess.next_keys

    def next_keys_then_change(self, params, **kwargs):
        keys = original(self, params, **kwargs)
        if keys:
            type(made[1]).objects.filter(pk=made[1].pk).update(status="inactive")
        return keys

    monkeypatch.setattr(ExportProcess, "next_keys", next_keys_then_change)
    run = export("contacts", filters={"status": "active"}, file_type=file_type)
    assert (run.state, run.succeeded, run.failed) == (RunState.COMPLETED_WITH_ERRORS, 3, 1)
    assert "no longer matches" in RunItem.objects.get(run=run, record_id=made[1].pk).message.lower()
    data = file_bytes(run)
    rows = read_csv(data) if file_type == "csv" else read_xlsx(data, tmp_path)
    assert codes(rows) == [made[0].code, made[2].code, made[3].code]


def test_the_file_is_written_into_the_export_directory(export, contacts, settings):
    contacts(3)
    run = export("contacts", file_type="csv", export_directory="erp/daily")
    export_file = ExportFile.objects.get(run=run)
    target = (
        Path(settings.NIGHTSHIFT_EXPORT_ROOT).resolve() / "erp" / "daily" / export_file.file_name
    )
    assert export_file.written_to == str(target)
    assert target.read_bytes() == file_bytes(run)
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary left


@pytest.mark.parametrize("directory", ["../outside", "/etc"])
def test_an_export_directory_outside_the_root_is_refused(operator, directory):
    with pytest.raises(ValidationError) as excinfo:
        start_export(user=operator, entity="contacts", export_directory=directory)
    assert "inside" in excinfo.value.message_dict["parameters.export_directory"][0]


def test_an_unwritable_export_directory_fails_the_run_saying_why(export, contacts, settings):
    contacts(1)
    root = Path(settings.NIGHTSHIFT_EXPORT_ROOT)
    root.mkdir(parents=True)
    (root / "taken").write_text("a file where the directory should be")
    run = export("contacts", export_directory="taken")
    assert run.state == RunState.FAILED
    assert "export directory taken" in run.message


def test_an_export_scheduled_later_is_a_scheduled_task_without_a_run(operator):
    started = start_export(
        user=operator,
        entity="vouchers",
        schedule={"mode": "once", "at": "2099-01-01T03:00:00"},
    )
    assert started.run is None
    assert started.task.definition.process_key == "export"


def test_a_recurring_export_is_accepted(operator):
    started = start_export(
        user=operator,
        entity="payment_gateway_requests",
        file_type="xlsx",
        schedule={"mode": "cron", "expression": "0 3 * * *"},
    )
    assert started.run is None
    assert started.task.next_fire_at is not None


def test_an_outsider_cannot_start_an_export(outsider):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        start_export(user=outsider, entity="contacts")


def test_a_record_that_starts_matching_inside_a_batch_is_left_out_of_it(
    export, contacts, monkeypatch
):
    made = contacts(4, status="active")
    Contact.objects.filter(pk=made[2].pk).update(status="inactive")
    original = ExportProcess.next_keys

    def next_keys_then_change(self, params, **kwargs):
        keys = original(self, params, **kwargs)
        Contact.objects.filter(pk=made[2].pk).update(status="active")
        return keys

    monkeypatch.setattr(ExportProcess, "next_keys", next_keys_then_change)
    run = export("contacts", filters={"status": "active"})
    assert (run.state, run.total, run.succeeded) == (RunState.COMPLETED, 3, 3)
    assert codes(read_csv(file_bytes(run))) == [made[0].code, made[1].code, made[3].code]
