"""Imports over HTTP: the entities and their fields, upload, the mapping step, the preview,
start, status, the error file and templates — the wizard's steps for scripts.

Endpoints parse, call one action of ``nightshift.imports.actions`` and render; refusals are
answered as the run engine's API answers them (422 with ``errors`` by field, 403, 404).
"""

# No ``from __future__ import annotations``: Ninja reads the endpoints' annotations at import
# time.

from datetime import datetime
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse
from ninja import Field, File, Form, Router, Schema, Status, UploadedFile
from ninja.errors import HttpError

from nightshift.imports import actions
from nightshift.imports.models import DataImport
from nightshift.imports.registry import all_importers, get_importer
from nightshift.imports.templates import TEMPLATE_FORMATS, field_rows, template
from nightshift.imports.views import CONTENT_TYPES
from nightshift.runs import actions as runs_actions
from nightshift.runs.api import REFUSALS, get_run_or_404, operator_errors, tasks
from nightshift.runs.models import LogLevel, ProcessRun

router = Router(tags=["imports"])
router.add_decorator(operator_errors)


def _operator(request: HttpRequest):
    runs_actions.require(request.auth, runs_actions.OPERATE)
    return request.auth


class FieldOut(Schema):
    column: str = Field(description="The column name of the template (the field's label).")
    field: str
    type: str
    required: str
    allowed: str = Field(description="Allowed values, or what a reference is matched on.")
    description: str
    sample: str


class EntityOut(Schema):
    key: str
    name: str
    description: str
    match: list[str] = Field(description="The fields that identify an existing record.")
    fields: list[FieldOut]


def _entity(importer) -> dict[str, Any]:
    return {
        "key": importer.key,
        "name": str(importer.name),
        "description": str(importer.description),
        "match": list(importer.match),
        "fields": field_rows(importer),
    }


@router.get("/imports/entities", response=list[EntityOut], summary="What can be imported")
def list_entities(request: HttpRequest):
    """Every registered importer with its fields (type, required, allowed values)."""
    return [_entity(importer) for importer in all_importers()]


class UploadOut(Schema):
    id: int
    name: str
    size: int
    layout: dict[str, Any] = Field(
        description="What the file is: format, encoding, delimiter, sheet, sheets."
    )
    problem: str = Field(description="Why the file cannot be imported, when it cannot.")


@router.post(
    "/imports/uploads",
    response={201: UploadOut, **REFUSALS},
    summary="Upload a file to import (step 2)",
)
def upload(
    request: HttpRequest,
    file: File[UploadedFile],
    entity: Form[str] = "",
    sheet: Form[str] = "",
):
    """Multipart upload of a .csv, .xlsx, .xls or .ods file. A file over the size limit is
    refused (422); one that cannot be read is kept with its ``problem`` (starting its import
    ends the run failed with that reason)."""
    uploaded = actions.upload_file(
        user=_operator(request),
        stream=file,
        name=file.name or "upload",
        entity=entity,
        sheet=sheet,
    )
    return Status(201, uploaded)


class MappingOut(Schema):
    upload: int
    name: str
    entity: str
    layout: dict[str, Any]
    problem: str
    columns: list[str]
    rows: list[list[str]] = Field(description="The first rows of the file, as text.")
    mapping: dict[str, str] = Field(description="Suggested mapping: field → column.")


@router.get(
    "/imports/uploads/{upload_id}/mapping",
    response={200: MappingOut, **REFUSALS},
    summary="Columns, first rows and suggested mapping (step 3)",
)
def mapping(
    request: HttpRequest, upload_id: int, entity: str, header: bool = True, sheet: str = ""
):
    _operator(request)
    return actions.describe_upload(upload_id=upload_id, entity=entity, header=header, sheet=sheet)


class ImportIn(Schema):
    entity: str
    upload: int
    mapping: dict[str, str] | None = Field(
        None, description="Field → column; unset for the suggested mapping."
    )
    header: bool = True
    update_existing: bool = False
    create_missing: bool = False
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Input settings: fixed values overriding the file."
    )
    sheet: str = ""
    day_first: bool = True

    def options(self) -> dict[str, Any]:
        data = self.model_dump()
        data.pop("entity")
        data.pop("upload")
        return data


class PreviewRowOut(Schema):
    row: int
    cells: list[str]
    action: str = Field(description="create, update or reject")
    message: str


class PreviewOut(Schema):
    columns: list[str]
    mapping: dict[str, str]
    rows: list[PreviewRowOut]


@router.post(
    "/imports/preview",
    response={200: PreviewOut, **REFUSALS},
    summary="What the first rows would do (step 4)",
)
def preview(request: HttpRequest, payload: ImportIn, limit: int = actions.PREVIEW_ROWS):
    """Create, update or reject (and why) for the first ``limit`` rows; nothing is written."""
    _operator(request)
    return actions.preview_import(
        upload_id=payload.upload,
        entity=payload.entity,
        limit=min(limit, 500),
        **payload.options(),
    )


class StartIn(ImportIn):
    name: str = ""
    log_level: LogLevel = LogLevel.ERRORS
    schedule: dict[str, Any] | None = Field(
        None, description='Scheduling settings; unset to import now ({"mode": "now"}).'
    )
    notify_on_completion: bool = True


class StartedOut(Schema):
    task: int
    definition: str
    next_fire_at: datetime | None


@router.post(
    "/imports",
    response={201: StartedOut, **REFUSALS},
    summary="Start the import",
)
def start(request: HttpRequest, payload: StartIn):
    """Creates the import's run definition and submits it; the scheduler fires it and a
    worker runs it. Follow it with GET /imports/runs/{number} or GET /runs."""
    data = payload.options()
    for key in ("name", "log_level", "schedule", "notify_on_completion"):
        data.pop(key)
    task = actions.start_import(
        user=request.auth,
        entity=payload.entity,
        upload_id=payload.upload,
        name=payload.name,
        log_level=payload.log_level,
        schedule=payload.schedule,
        notify_on_completion=payload.notify_on_completion,
        **data,
    )
    task = tasks().get(pk=task.pk)
    return Status(
        201,
        {
            "task": task.pk,
            "definition": task.definition.unified_code,
            "next_fire_at": task.next_fire_at,
        },
    )


class ImportStatusOut(Schema):
    number: int
    state: str = Field(description="The run's state.")
    import_state: str = Field(description="in_progress, completed or failed (the manual's).")
    total: int | None
    processed: int
    rows: int
    created: int
    updated: int
    rejected: int
    error_file: str | None = Field(description="Where to download the rejected rows.")
    message: str


@router.get(
    "/imports/runs/{number}",
    response={200: ImportStatusOut, **REFUSALS},
    summary="An import's status and figures",
)
def status(request: HttpRequest, number: int):
    _require_runs(request)
    run = get_run_or_404(number)
    if not run.process_key.startswith("imports."):
        raise HttpError(404, f"Run #{number} is not an import.")
    return run.summary()


def _require_runs(request: HttpRequest) -> None:
    from nightshift.api.resources import require_view_permission

    require_view_permission(request, ProcessRun)


@router.get(
    "/imports/runs/{number}/error-file",
    response={200: None, **REFUSALS},
    summary="Download an import's error file",
)
def error_file(request: HttpRequest, number: int):
    """The rejected rows as uploaded (CSV in the same dialect, else XLSX) with an Error
    column; 404 when no row was rejected."""
    _require_runs(request)
    data_import = (
        DataImport.objects.filter(run_id=number).exclude(error_file="").order_by("pk").first()
    )
    if data_import is None:
        raise HttpError(404, f"Import run #{number} has no error file.")
    name = data_import.error_file.name.rsplit("/", 1)[-1]
    return FileResponse(data_import.error_file.open("rb"), as_attachment=True, filename=name)


@router.get(
    "/imports/templates/{entity}",
    response={200: None, **REFUSALS},
    summary="Download an entity's import template",
)
def import_template(request: HttpRequest, entity: str, format: str = "csv"):
    try:
        importer = get_importer(entity)
    except LookupError as exc:
        raise HttpError(404, str(exc)) from None
    if format not in TEMPLATE_FORMATS:
        raise HttpError(422, "format is csv or xlsx.")
    response = HttpResponse(template(importer, format), content_type=CONTENT_TYPES[format])
    response["Content-Disposition"] = f'attachment; filename="{entity}-template.{format}"'
    return response
