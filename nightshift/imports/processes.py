"""The import processes: a file import (one uploaded file, its rows as the run's records) and a
watched folder (each new file found in a directory, imported whole, then moved away).

A file import's records are the rows of the file, keyed by their row number: the run's cursor
is the last row of its last committed batch, so a run taken over after a crash goes on from
there. ``count`` reads the whole file first, so that a file that cannot be read (not a
spreadsheet, damaged, cut short, a required field not mapped) fails the run with the reason
before anything is written. ``complete`` builds the error file from the run's rejected rows.
"""

from __future__ import annotations

import datetime
import fnmatch
import logging
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import BaseModel, ConfigDict, Field

from nightshift.core.audit import acting_as
from nightshift.imports.jobs import FileJob, error_file_name, save_error_file
from nightshift.imports.loading import (
    CREATE,
    REJECT,
    UPDATE,
    Options,
    Prepared,
    RowResult,
    convert_fixed,
)
from nightshift.imports.mapping import MappingProblem, check_mapping
from nightshift.imports.models import DataImport, ImportFile, ImportState
from nightshift.imports.reading import FileProblem
from nightshift.imports.registry import get_importer
from nightshift.processes.base import Outcome, ParameterError, Process, ProcessFailed, RunOutput
from nightshift.processes.registry import register
from nightshift.runs.models import RunState

__all__ = ["ImportData", "WatchImportFolder", "import_directory"]

logger = logging.getLogger(__name__)

# Rows written per statement when the watched-folder process imports a whole file.
FILE_BATCH = 2500
# A file modified less than this many seconds ago may still be being copied in: left for the
# next run.
SETTLE_SECONDS = 10


def import_directory() -> Path:
    """The root of watched folders (the manuals' configurable "import directory"):
    ``NIGHTSHIFT_IMPORT_DIR``, by default ``var/imports``."""
    return Path(getattr(settings, "NIGHTSHIFT_IMPORT_DIR", settings.VAR_DIR / "imports"))


class ImportOptions(BaseModel):
    """What the wizard's mapping step and the input settings decide."""

    model_config = ConfigDict(extra="forbid")

    entity: str = Field(
        title="Entity",
        json_schema_extra={"group": "input_settings"},
        description="What the file holds: contacts, products, devices, vouchers, leads, "
        "reward_participants, reward_scheme_codes or payment_gateway_requests.",
    )
    mapping: dict[str, str] | None = Field(
        title="Mapping",
        json_schema_extra={"group": "input_settings"},
        default=None,
        description="Field → column of the file. Unset: the mapping suggested from the header.",
    )
    header: bool = Field(
        title="Do not import the first row (header)",
        json_schema_extra={"group": "input_settings"},
        default=True,
    )
    update_existing: bool = Field(
        title="Update existing records",
        json_schema_extra={"group": "input_settings"},
        default=False,
        description="Records whose code exists are updated; off: left unchanged and reported.",
    )
    create_missing: bool = Field(
        title="Automatically create missing attributes",
        json_schema_extra={"group": "input_settings"},
        default=False,
        description="Create missing classifications, warehouses, product families …",
    )
    settings: dict[str, Any] = Field(
        title="Input settings",
        json_schema_extra={"group": "input_settings"},
        default_factory=dict,
        description="Fixed values (field → value) that override the file, e.g. the warehouse.",
    )
    sheet: str = Field(
        title="Sheet",
        json_schema_extra={"group": "input_settings"},
        default="",
        description="The sheet of a spreadsheet to read; unset: the first.",
    )
    day_first: bool = Field(
        title="Dates are day first",
        json_schema_extra={"group": "input_settings"},
        default=True,
        description="03/04/2026 is 3 April; off: 4 March.",
    )

    def options(self) -> Options:
        return Options(
            header=self.header,
            update_existing=self.update_existing,
            create_missing=self.create_missing,
            fixed=dict(self.settings),
            day_first=self.day_first,
        )


class ImportParameters(ImportOptions):
    model_config = ConfigDict(extra="forbid", title="Import data")

    upload: int = Field(
        title="File",
        json_schema_extra={"group": "input_settings"},
        description="The uploaded file (its id, as the upload answered).",
    )


class WatchParameters(ImportOptions):
    model_config = ConfigDict(extra="forbid", title="Import data from a folder")

    directory: str = Field(
        title="Folder",
        json_schema_extra={"group": "input_settings"},
        description="Folder to watch, inside the import directory (NIGHTSHIFT_IMPORT_DIR).",
    )
    pattern: str = Field(
        title="File name pattern",
        json_schema_extra={"group": "input_settings"},
        default="*.csv",
        description="Which files to import, e.g. contacts-*.csv or *.xlsx.",
    )


def check_options(params: ImportOptions) -> None:
    """The rules every import's parameters follow: a known entity, fields it has, input
    settings of the right type."""
    try:
        importer = get_importer(params.entity)
    except LookupError as exc:
        raise ParameterError({"entity": str(exc)}) from None
    errors = {
        f"mapping.{name}": message
        for name, message in check_mapping(importer, params.mapping or {}).items()
    }
    for name, value in params.settings.items():  # each wrong setting named by its field
        try:
            convert_fixed(importer, {name: value}, day_first=params.day_first)
        except ValueError as exc:
            errors[f"settings.{name}"] = str(exc)
    if errors:
        raise ParameterError(errors)


def _summary(run) -> dict[str, Any]:
    """The import figures of a run: rows, created, updated, rejected and the error file."""
    figures = {"rows": 0, "created": 0, "updated": 0, "rejected": 0}
    error_file = None
    for data_import in DataImport.objects.filter(run=run):
        figures["rows"] += data_import.rows or 0
        for key in ("created", "updated", "rejected"):
            figures[key] += getattr(data_import, key)
        if data_import.error_file and error_file is None:
            error_file = settings.NIGHTSHIFT_BASE_URL.rstrip("/") + reverse(
                "imports:error_file", args=[data_import.pk]
            )
    if run.state == RunState.FAILED:
        state = ImportState.FAILED
    elif run.state in (RunState.COMPLETED, RunState.COMPLETED_WITH_ERRORS):
        state = ImportState.COMPLETED
    else:
        state = ImportState.IN_PROGRESS
    return {**figures, "error_file": error_file, "import_state": str(state)}


def _describe(run) -> str:
    figures = _summary(run)
    text = _("Rows: %(rows)s, created %(created)s, updated %(updated)s, rejected %(rejected)s.") % (
        figures
    )
    if figures["error_file"]:
        text += "\n" + _("Error file (the rejected rows): %(link)s") % {
            "link": figures["error_file"]
        }
    return text


class _ImportProcess(Process):
    """What both import processes share: the summary figures of their runs."""

    model = None

    @classmethod
    def run_summary(cls, run) -> dict[str, Any]:
        return _summary(run)

    @classmethod
    def describe_run(cls, run) -> str:
        return _describe(run)

    def outputs(self, run) -> list[RunOutput]:
        """The error file of each import of the run, offered on the run page."""
        return [
            RunOutput(
                name=data_import.error_file.name.rsplit("/", 1)[-1],
                url=reverse("imports:error_file", args=[data_import.pk]),
                size=data_import.error_file.size,
                description=_("the %(count)s rejected rows, with the reason of each")
                % {"count": data_import.rejected},
            )
            for data_import in DataImport.objects.filter(run=run).exclude(error_file="")
            if data_import.error_file.storage.exists(data_import.error_file.name)
        ]


@register
class ImportData(_ImportProcess):
    """Import one uploaded file into CRM records (contacts, products, devices …).

    Rows are validated (every problem names the column), codes repeated inside the file are
    rejected on their later rows, references are looked up (and created with "create missing
    attributes"), and each batch is written set-based. Rejected rows never stop the import:
    they become the error file. The run fails only when the file itself cannot be imported.
    """

    key = "imports.file"
    name = gettext_lazy("Import data")
    description = gettext_lazy(
        "Imports an uploaded .csv, .xlsx, .xls or .ods file into contacts, products, devices, "
        "vouchers, leads, reward participants, reward scheme codes or payment gateway requests."
    )
    Parameters = ImportParameters
    # Rows per batch: a batch costs a few statements whatever its size (codes looked up, rows
    # written, figures and cursor saved), and 10,000 converted rows take about 20 MB.
    batch_size = 10_000

    def __init__(self) -> None:
        self._job: FileJob | None = None
        self._batch: list[tuple[int, list[Any]]] = []
        self._prepared: Prepared | None = None
        self._ahead: _ReadAhead | None = None
        self._actor = None
        self._record_id: int | None = None
        self._tally: _Tally | None = None

    @classmethod
    def check(cls, params: ImportParameters) -> None:
        check_options(params)
        if not ImportFile.objects.filter(pk=params.upload, source_path="").exists():
            raise ParameterError(
                {"upload": _("There is no uploaded file #%(id)s.") % {"id": params.upload}}
            )

    def job(self, params: dict[str, Any]) -> FileJob:
        if self._job is None:
            options = ImportParameters.model_validate(params)
            upload = ImportFile.objects.get(pk=options.upload)
            try:
                self._job = FileJob(
                    get_importer(options.entity),
                    upload.path,
                    options.options(),
                    mapping=options.mapping,
                    sheet=options.sheet,
                    code_prefix=f"I{upload.pk}-",
                )
            except (FileProblem, MappingProblem) as exc:
                raise ProcessFailed(f"{upload.name}: {exc}") from None
            except FileNotFoundError:
                raise ProcessFailed(
                    _("The uploaded file %(name)s is no longer on the server.")
                    % {"name": upload.name}
                ) from None
        return self._job

    def count(self, params: dict[str, Any], *, as_of: datetime.date, after: int) -> int:
        try:
            return self.job(params).count(after)
        except FileProblem as exc:
            raise ProcessFailed(str(exc)) from None

    def next_keys(
        self, params: dict[str, Any], *, as_of: datetime.date, after: int, limit: int
    ) -> list[int]:
        job = self.job(params)
        try:
            ahead, self._ahead = self._ahead, None
            found = ahead.result(after, limit) if ahead else None
            self._batch, self._prepared = found or job.prepared_rows(after, limit)
            self._tally = ahead.tally if found else None
        except FileProblem as exc:
            raise ProcessFailed(str(exc)) from None
        return [row for row, _cells in self._batch]

    def _record(self, params: dict[str, Any], run_number: int) -> DataImport:
        record, _created = DataImport.objects.get_or_create(
            run_id=run_number,
            upload_id=params["upload"],
            defaults={"entity": params["entity"]},
        )
        return record

    def process_batch(
        self,
        params: dict[str, Any],
        ids: list[int],
        *,
        as_of: datetime.date,
        run_number: int | None,
    ) -> list[Outcome]:
        job = self.job(params)
        rows, prepared = self._batch, self._prepared
        read_ahead = None
        if [row for row, _cells in rows] != ids:  # not the batch next_keys gave
            cells_of = dict(rows)
            rows, prepared = [(row, cells_of[row]) for row in ids], None
        else:
            # The next batch is read, checked and looked up while the database writes this one
            # (started once this one's rows are ready to send: until then the two would take
            # turns); looked up only when the batch's transaction is the outermost, so that
            # another connection sees all that the import may refer to.
            outermost = len(connection.atomic_blocks) == 1

            def read_ahead() -> None:
                self._ahead = _ReadAhead(
                    job,
                    after=ids[-1],
                    limit=len(ids),
                    look_up=outermost,
                    actor=self._requester(run_number),
                )

        if connection.vendor == "postgresql":
            # The batch's commit need not wait for the disk: should the server crash before
            # it is flushed, the batch is lost with the run's cursor, and the run resumes
            # before it (an import has no effect outside its transaction until it completes).
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        with acting_as(self._requester(run_number)):
            results = job.load(rows, prepared, sent=read_ahead)
        tally = self._tally if self._tally and self._tally.results is results else _Tally(results)
        counts = tally.counts
        if run_number is not None:
            if self._record_id is None:
                self._record_id = self._record(params, run_number).pk
            DataImport.objects.filter(pk=self._record_id).update(
                created=F("created") + counts[CREATE],
                updated=F("updated") + counts[UPDATE],
                rejected=F("rejected") + counts[REJECT],
            )
        return tally.outcomes

    def _requester(self, run_number: int | None):
        if self._actor is None and run_number is not None:
            from nightshift.runs.models import ProcessRun

            run = ProcessRun.objects.select_related("requested_by").get(pk=run_number)
            self._actor = run.requested_by
        return self._actor

    def complete(
        self, params: dict[str, Any], *, as_of: datetime.date, run_number: int | None
    ) -> None:
        """The counts checked and the error file built from the run's rejected rows."""
        from nightshift.runs.models import RunItem

        if run_number is None:
            return
        if self._ahead is not None:
            self._ahead.wait()  # finished before the file is read again
            self._ahead = None
        job = self.job(params)
        record = self._record(params, run_number)
        record.refresh_from_db()
        rejected = dict(
            RunItem.objects.filter(run_id=run_number, ok=False).values_list("record_id", "message")
        )
        record.rows = record.created + record.updated + record.rejected
        record.state = ImportState.COMPLETED
        name = error_file_name(record.upload.name, job.layout.format)
        save_error_file(job, rejected, record.error_file, name)
        record.save()
        ImportFile.objects.filter(pk=record.upload_id).update(state=ImportState.COMPLETED)


class _ReadAhead:
    """The next batch of a file read, checked, looked up (references, existing codes) and made
    ready to write, in a thread of its own while the database writes the current one: the
    worker waits for the PostgreSQL server most of a batch's time, and SQLite writes thousands
    of rows a statement without holding Python's lock. The thread reads with a
    connection of its own, which sees what is committed: a code the batch in flight writes is
    not there yet, but a row repeating it is already reported as a repeat by the check."""

    def __init__(self, job: FileJob, *, after: int, limit: int, look_up: bool, actor) -> None:
        self.after, self.limit = after, limit
        self._result: tuple[list, Prepared] | None = None
        self._error: BaseException | None = None
        self.tally: _Tally | None = None  # the batch's outcomes, if written as planned
        language = translation.get_language()

        def read() -> None:
            try:
                with translation.override(language), acting_as(actor):  # the rows' stamps
                    self._result = job.prepared_rows(after, limit, look_up=look_up)
                    if (results := self._result[1].results) is not None:
                        self.tally = _Tally(results)
            except BaseException as exc:  # handed over to the engine's thread
                self._error = exc
            finally:
                connection.close()  # this thread's own

        self._thread = threading.Thread(target=read, name="import-read-ahead", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        self._thread.join()

    def result(self, after: int, limit: int) -> tuple[list, Prepared] | None:
        """The rows read ahead if they are the ones asked for, else ``None`` (the file is
        then read again from where the engine asks; the job notices and starts over)."""
        self.wait()
        if after != self.after or limit != self.limit:
            return None
        if self._error is not None:
            raise self._error
        return self._result


class _Tally:
    """A batch's results as the engine's outcomes and the data import's counts (made ahead,
    with the batch, when it is read ahead)."""

    def __init__(self, results: list[RowResult]) -> None:
        self.results = results
        self.counts = {CREATE: 0, UPDATE: 0, REJECT: 0}
        self.outcomes = []
        for result in results:
            self.counts[result.action] += 1
            if result.action == REJECT:
                self.outcomes.append(Outcome(result.row, ok=False, message=result.message))
            else:
                self.outcomes.append(Outcome(result.row, ok=True, message=result.action))


@register
class WatchImportFolder(_ImportProcess):
    """Import every new file of a watched folder, then move it away.

    Each run (usually repeating) looks for files matching the pattern in the folder, imports
    each whole, and moves it into ``processed/`` — with its error file beside it when rows
    were rejected — or, when the file itself could not be imported, into ``failed/`` with a
    ``.error.txt`` saying why. The run's records are the files; each gets a data import with
    its counts.
    """

    key = "imports.watch_folder"
    name = gettext_lazy("Import data from a folder")
    description = gettext_lazy(
        "Imports each new file that appears in a folder of the import directory, then moves it "
        "to processed/ or failed/ with its error file."
    )
    Parameters = WatchParameters
    # Folders the process moves files into; never scanned.
    DONE: ClassVar[tuple[str, str]] = ("processed", "failed")

    @classmethod
    def check(cls, params: WatchParameters) -> None:
        check_options(params)
        try:
            folder = cls.folder(params.directory)
        except ValueError as exc:
            raise ParameterError({"directory": str(exc)}) from None
        if not folder.is_dir():
            raise ParameterError(
                {"directory": _("There is no folder %(folder)s.") % {"folder": folder}}
            )

    @staticmethod
    def folder(directory: str) -> Path:
        root = import_directory().resolve()
        folder = (root / directory).resolve()
        if folder != root and root not in folder.parents:
            raise ValueError(
                _("The folder must be inside the import directory %(root)s.") % {"root": root}
            )
        return folder

    def _pending(self, params: dict[str, Any]):
        folder = self.folder(params["directory"])
        return ImportFile.objects.filter(
            source_path__startswith=f"{folder}{os.sep}", state=ImportState.IN_PROGRESS
        )

    def _scan(self, params: dict[str, Any]) -> None:
        """Register each new file of the folder (one no pending import names yet)."""
        folder = self.folder(params["directory"])
        if not folder.is_dir():
            raise ProcessFailed(_("There is no folder %(folder)s.") % {"folder": folder})
        known = set(self._pending(params).values_list("source_path", flat=True))
        settled = time.time() - SETTLE_SECONDS
        new = []
        for path in sorted(folder.iterdir()):
            if (
                path.is_file()
                and fnmatch.fnmatch(path.name, params["pattern"])
                and str(path) not in known
                and path.stat().st_mtime <= settled
            ):
                new.append(
                    ImportFile(
                        name=path.name,
                        size=path.stat().st_size,
                        entity=params["entity"],
                        source_path=str(path),
                    )
                )
        ImportFile.objects.bulk_create(new)

    def count(self, params: dict[str, Any], *, as_of: datetime.date, after: int) -> int:
        self._scan(params)
        return self._pending(params).filter(pk__gt=after).count()

    def next_keys(
        self, params: dict[str, Any], *, as_of: datetime.date, after: int, limit: int
    ) -> list[int]:
        pending = self._pending(params).filter(pk__gt=after).order_by("pk")
        return list(pending.values_list("pk", flat=True)[:limit])

    def process_batch(
        self,
        params: dict[str, Any],
        ids: list[int],
        *,
        as_of: datetime.date,
        run_number: int | None,
    ) -> list[Outcome]:
        from nightshift.runs.models import ProcessRun

        run = ProcessRun.objects.select_related("requested_by").get(pk=run_number)
        outcomes = []
        for upload in ImportFile.objects.filter(pk__in=ids).order_by("pk"):
            with acting_as(run.requested_by):
                outcomes.append(self._import(params, run, upload))
        return outcomes

    def _import(self, params: dict[str, Any], run, upload: ImportFile) -> Outcome:
        record = DataImport.objects.create(run=run, upload=upload, entity=params["entity"])
        options = WatchParameters.model_validate(params)
        path = Path(upload.source_path)
        try:
            with transaction.atomic():
                job = FileJob(
                    get_importer(options.entity),
                    path,
                    options.options(),
                    mapping=options.mapping,
                    sheet=options.sheet,
                    code_prefix=f"W{upload.pk}-",
                )
                job.count()
                rejected: dict[int, str] = {}
                rows = job.data_rows()
                while batch := _take(rows, FILE_BATCH):
                    for result in job.load(batch):
                        setattr(
                            record,
                            _COUNTER[result.action],
                            getattr(record, _COUNTER[result.action]) + 1,
                        )
                        if result.action == REJECT:
                            rejected[result.row] = result.message
        except (FileProblem, MappingProblem, FileNotFoundError) as exc:
            message = f"{upload.name}: {exc}"
            record.state = ImportState.FAILED
            record.message = message
            record.save()
            ImportFile.objects.filter(pk=upload.pk).update(state=ImportState.FAILED)
            transaction.on_commit(lambda: _move(path, "failed", reason=message))
            return Outcome(upload.pk, ok=False, message=message)
        record.rows = record.created + record.updated + record.rejected
        record.state = ImportState.COMPLETED
        name = error_file_name(upload.name, job.layout.format)
        save_error_file(job, rejected, record.error_file, name)
        ImportFile.objects.filter(pk=upload.pk).update(state=ImportState.COMPLETED)
        error_path = Path(record.error_file.path) if record.error_file else None
        transaction.on_commit(lambda: _move(path, "processed", error_file=(error_path, name)))
        return Outcome(
            upload.pk,
            ok=True,
            message=_("%(name)s: created %(created)s, updated %(updated)s, rejected %(rejected)s.")
            % {
                "name": upload.name,
                "created": record.created,
                "updated": record.updated,
                "rejected": record.rejected,
            },
        )


_COUNTER = {CREATE: "created", UPDATE: "updated", REJECT: "rejected"}


def _take(rows, limit: int) -> list:
    from itertools import islice

    return list(islice(rows, limit))


def _move(
    path: Path,
    where: str,
    *,
    reason: str = "",
    error_file: tuple[Path | None, str] | None = None,
) -> None:
    """Move a watched file into ``processed/`` or ``failed/`` beside it, with its error file
    (or the reason it failed); a name already taken there gets a timestamp."""
    target_folder = path.parent / where
    target_folder.mkdir(exist_ok=True)
    target = target_folder / path.name
    if target.exists():
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d%H%M%S")
        target = target_folder / f"{path.stem}.{stamp}{path.suffix}"
    try:
        shutil.move(path, target)
        if reason:
            target.with_name(target.name + ".error.txt").write_text(reason + "\n", "utf-8")
        if error_file and error_file[0] is not None:
            shutil.copyfile(
                error_file[0], target_folder / f"{target.stem}.errors{Path(error_file[1]).suffix}"
            )
    except OSError:
        logger.exception("Could not move %s to %s", path, target_folder)
