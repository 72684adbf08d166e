"""Archives over HTTP: list and show them, start an archive run, download (a streamed ZIP),
delete and restore — the last three with the caller's password in the body, checked by the
actions (wrong ones counted; too many refuse the caller for a while)."""

# No ``from __future__ import annotations``: Ninja reads the annotations at import time.

from datetime import datetime
from typing import Annotated

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Field, FilterLookup, FilterSchema, Query, Router, Schema, Status
from ninja.pagination import paginate

from nightshift.api.resources import Pagination, require_view_permission
from nightshift.archiving import actions
from nightshift.archiving.choices import ArchiveState
from nightshift.archiving.models import Archive
from nightshift.runs import actions as runs
from nightshift.runs.api import REFUSALS, TaskOut, operator_errors, tasks

router = Router(tags=["archives"])
router.add_decorator(operator_errors)


class ArchiveOut(Schema):
    id: int
    entity: str
    months: int
    cutoff: datetime
    run: int | None = Field(description="Number of the process run that made it.")
    state: ArchiveState
    rows: dict[str, int] = Field(description="Rows archived per model.")
    total_rows: int
    uncompressed_bytes: int
    compressed_bytes: int
    ratio: float | None
    chunks: int
    archived_by: str | None
    archived_at: datetime
    ended_at: datetime | None
    deleted: bool
    deleted_at: datetime | None
    restore_conflicts: list[dict]

    @staticmethod
    def resolve_run(archive: Archive) -> int | None:
        return archive.run_number

    @staticmethod
    def resolve_chunks(archive: Archive) -> int:
        return archive.chunk_count

    @staticmethod
    def resolve_archived_by(archive: Archive) -> str | None:
        return archive.created_by.get_username() if archive.created_by else None

    @staticmethod
    def resolve_archived_at(archive: Archive) -> datetime:
        return archive.created_at

    @staticmethod
    def resolve_deleted(archive: Archive) -> bool:
        return archive.is_deleted

    @staticmethod
    def resolve_restore_conflicts(archive: Archive) -> list[dict]:
        return archive.restore_report


class ArchiveFilter(FilterSchema):
    entity: Annotated[str | None, FilterLookup("entity")] = None
    state: Annotated[ArchiveState | None, FilterLookup("state")] = None
    archived_after: Annotated[datetime | None, FilterLookup("created_at__gte")] = None
    archived_before: Annotated[datetime | None, FilterLookup("created_at__lte")] = None
    archived_by: Annotated[str | None, FilterLookup("created_by__username")] = None


class PasswordIn(Schema):
    password: str = Field(description="The caller's password, asked again.")


class ArchiveRunIn(Schema):
    entity: str
    months: int = 12
    password: str


class ArchiveRunOut(Schema):
    definition: str
    task: TaskOut


def archives():
    return Archive.objects.select_related("created_by")


@router.get("/archives", response={200: list[ArchiveOut], **REFUSALS}, summary="List archives")
@paginate(Pagination)
def list_archives(request: HttpRequest, filters: Query[ArchiveFilter]):
    require_view_permission(request, Archive)
    Archive.settle()
    return filters.filter(archives()).order_by("-created_at", "-pk")


@router.get("/archives/{archive_id}", response={200: ArchiveOut, **REFUSALS}, summary="An archive")
def get_archive(request: HttpRequest, archive_id: int):
    require_view_permission(request, Archive)
    return actions.get_archive(archive_id)


@router.post(
    "/archive-runs",
    response={201: ArchiveRunOut, **REFUSALS},
    summary="Archive an entity's data older than N months (a run-now definition, submitted)",
)
def start_archive_run(request: HttpRequest, body: ArchiveRunIn):
    user = request.auth
    actions.confirm(user=user, password=body.password, what="archive data", channel="api")
    definition = actions.create_archive_definition(
        user=user, entity=body.entity, months=body.months
    )
    task = runs.submit_definition(
        user=user, unified_code=definition.unified_code, password=body.password
    )
    return Status(201, {"definition": definition.unified_code, "task": tasks().get(pk=task.pk)})


@router.post(
    "/archives/{archive_id}/download",
    response={200: None, **REFUSALS},
    summary="Download an archive: a ZIP with one CSV per model and manifest.json",
)
def download_archive(request: HttpRequest, archive_id: int, body: PasswordIn):
    archive, stream = actions.download_archive(
        user=request.auth, archive_id=archive_id, password=body.password, channel="api"
    )
    response = StreamingHttpResponse(stream, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="archive-{archive.pk}.zip"'
    return response


@router.post(
    "/archives/{archive_id}/delete",
    response={200: ArchiveOut, **REFUSALS},
    summary="Delete an archive's data for good",
)
def delete_archive(request: HttpRequest, archive_id: int, body: PasswordIn):
    actions.delete_archive(
        user=request.auth, archive_id=archive_id, password=body.password, channel="api"
    )
    return actions.get_archive(archive_id)


@router.post(
    "/archives/{archive_id}/restore",
    response={200: ArchiveOut, **REFUSALS},
    summary="Put an archive's rows back into the live tables",
)
def restore_archive(request: HttpRequest, archive_id: int, body: PasswordIn):
    actions.restore_archive(
        user=request.auth, archive_id=archive_id, password=body.password, channel="api"
    )
    return actions.get_archive(archive_id)
