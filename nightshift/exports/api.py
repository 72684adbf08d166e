"""Exports over HTTP: the exporters with their columns and filters, starting an export, its
status and its file.

``POST /exports`` creates and submits an export definition (one started for now is fired at
once and answers its run); ``GET /exports/{number}`` follows the run; ``GET
/exports/{number}/file`` streams the file. Refusals are JSON as everywhere in the API: a 422
whose ``errors`` name the field (``parameters.filters.status``), 403, 404.
"""

# No ``from __future__ import annotations``: Ninja reads the annotations at import time.

from typing import Any

from django.db import models
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import reverse
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import ConfigDict

from nightshift.api.resources import Pagination, require_view_permission
from nightshift.exports import actions
from nightshift.exports.models import ExportFile, FileType
from nightshift.exports.processes import EXPORT_PROCESS, iter_file
from nightshift.exports.registry import all_exporters, get_exporter
from nightshift.runs.api import REFUSALS, RunOut, TaskOut, operator_errors
from nightshift.runs.models import LogLevel, ProcessRun, RunState

router = Router(tags=["exports"])
router.add_decorator(operator_errors)


class ColumnOut(Schema):
    name: str
    label: str
    kind: str


class FilterOut(Schema):
    name: str
    label: str
    kind: str
    choices: list[str] = Field(description="The allowed values of a choice filter.")
    help: str = Field(description="How a value is written.")


class ExporterOut(Schema):
    key: str
    name: str
    columns: list[ColumnOut]
    filters: list[FilterOut]


class FileOut(Schema):
    name: str
    file_type: FileType
    rows: int
    size: int
    url: str = Field(description="Where to download it (GET).")
    written_to: str = Field(description="Where it was written in the export directory, if set.")


class ExportRunOut(RunOut):
    entity: str
    file_type: str
    file: FileOut | None = Field(description="The finished file; none until the run completes.")

    @staticmethod
    def resolve_entity(run: ProcessRun) -> str:
        return run.definition.parameters.get("entity", "")

    @staticmethod
    def resolve_file_type(run: ProcessRun) -> str:
        return run.definition.parameters.get("file_type", "")

    @staticmethod
    def resolve_file(run: ProcessRun) -> dict[str, Any] | None:
        return file_summary(run)


class ExportIn(Schema):
    """An export to start. Filters, columns and the directory are checked by the export
    process, which answers a 422 naming the field."""

    model_config = ConfigDict(extra="forbid")

    entity: str = Field(description="Exporter key (GET /exports/entities).")
    file_type: FileType = FileType.CSV
    filters: dict[str, Any] = Field(
        default_factory=dict,
        description='Filter name → value, e.g. {"status": "active", "created_at": '
        '"2026-01-01..2026-03-31"}.',
    )
    columns: list[str] = Field(default_factory=list, description="Empty for all columns.")
    export_directory: str = Field("", description="Relative to the configured export root.")
    name: str = Field("", description="Definition name (default: “Export of <entity>”).")
    schedule: dict[str, Any] = Field(
        default_factory=lambda: {"mode": "now"}, description="Scheduling settings."
    )
    log_level: LogLevel = LogLevel.ERRORS
    notify_on_completion: bool = False
    server: str | None = None


class ExportStartedOut(Schema):
    task: TaskOut
    run: ExportRunOut | None = Field(description="The run, when the export was started for now.")


def file_summary(run: ProcessRun) -> dict[str, Any] | None:
    """The finished file of ``run`` as the API and the CLI show it."""
    try:
        export = run.export_file
    except ExportFile.DoesNotExist:
        return None
    return {
        "name": export.file_name,
        "file_type": export.file_type,
        "rows": export.rows,
        "size": export.size,
        "url": reverse("api-1:export_file", args=[run.pk]),
        "written_to": export.written_to,
    }


def export_runs() -> models.QuerySet[ProcessRun]:
    return ProcessRun.objects.filter(process_key=EXPORT_PROCESS).select_related(
        "definition", "server", "requested_by", "export_file"
    )


def export_run(number: int) -> ProcessRun:
    from django.core.exceptions import ObjectDoesNotExist
    from django.utils.translation import gettext as _

    run = export_runs().filter(pk=number).first()
    if run is None:
        raise ObjectDoesNotExist(_("There is no export run #%(number)s.") % {"number": number})
    return run


def download_response(export: ExportFile) -> StreamingHttpResponse:
    """The file as an attachment, streamed chunk by chunk from the database."""
    response = StreamingHttpResponse(iter_file(export), content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.file_name}"'
    response["Content-Length"] = str(export.size)
    return response


@router.get(
    "/exports/entities",
    response={200: list[ExporterOut], **REFUSALS},
    summary="List the exporters with their columns and filters",
)
def list_exporters(request: HttpRequest):
    return [exporter.describe() for exporter in all_exporters()]


@router.get(
    "/exports/entities/{key}",
    response={200: ExporterOut, **REFUSALS},
    summary="One exporter with its columns and filters",
)
def get_exporter_detail(request: HttpRequest, key: str):
    from django.core.exceptions import ObjectDoesNotExist

    try:
        return get_exporter(key).describe()
    except LookupError as exc:
        raise ObjectDoesNotExist(str(exc)) from None


@router.post(
    "/exports",
    response={201: ExportStartedOut, **REFUSALS},
    summary="Start an export (a run definition of the export process, submitted)",
)
def start_export(request: HttpRequest, payload: ExportIn):
    started = actions.start_export(user=request.auth, **payload.model_dump(mode="json"))
    from nightshift.runs.api import tasks

    task = tasks().get(pk=started.task.pk)
    run = export_run(started.run.pk) if started.run is not None else None
    return Status(201, {"task": task, "run": run})


@router.get(
    "/exports",
    response={200: list[ExportRunOut], **REFUSALS},
    summary="List export runs, newest first",
)
@paginate(Pagination)
def list_exports(
    request: HttpRequest,
    state: RunState | None = None,
    entity: str | None = None,
):
    require_view_permission(request, ProcessRun)
    rows = export_runs().order_by("-pk")
    if state:
        rows = rows.filter(state=state)
    if entity:
        rows = rows.filter(definition__parameters__entity=entity)
    return rows


@router.get(
    "/exports/{number}",
    response={200: ExportRunOut, **REFUSALS},
    summary="An export run: its state, progress and file",
)
def get_export(request: HttpRequest, number: int):
    require_view_permission(request, ProcessRun)
    return export_run(number)


@router.get(
    "/exports/{number}/file",
    response={200: None, **REFUSALS},
    summary="Download the file of an export run",
    url_name="export_file",
)
def export_file(request: HttpRequest, number: int):
    return download_response(actions.export_file(user=request.auth, number=number))
