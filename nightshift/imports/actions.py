"""Every operator's write and question about imports: upload a file, see its columns and the
suggested mapping, preview what the first rows would do, start the import.

The wizard's steps, the REST API and the CLI all call these. Refusals are Django's
``ValidationError`` keyed by field (``file``, ``entity``, ``mapping``, ``settings``…) or
``PermissionDenied``, with operator-facing messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import islice
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.files import File
from django.db import transaction
from django.utils.translation import gettext as _

from nightshift.core.audit import acting_as
from nightshift.imports.jobs import FileJob
from nightshift.imports.mapping import MappingProblem, column_names, suggest_mapping
from nightshift.imports.models import ImportFile
from nightshift.imports.processes import ImportData, ImportParameters
from nightshift.imports.reading import MAX_BYTES, FileProblem, Layout, Source, inspect
from nightshift.imports.registry import get_importer
from nightshift.processes.base import ParameterError
from nightshift.runs import actions as runs

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser

    from nightshift.runs.models import ScheduledTask

__all__ = ["describe_upload", "preview_import", "start_import", "upload_file"]

PREVIEW_ROWS = 20  # rows the preview step shows
SAMPLE_ROWS = 5  # rows shown beside the columns at the mapping step


def _importer(entity: str):
    try:
        return get_importer(entity)
    except LookupError as exc:
        raise ValidationError({"entity": str(exc)}) from None


def upload_file(
    *, user: AbstractUser, stream: IO[bytes], name: str, entity: str = "", sheet: str = ""
) -> ImportFile:
    """Keep an uploaded file for importing and say what it is.

    A file over the size limit is refused. A file that cannot be read is kept all the same,
    with the reason in ``problem``: starting its import ends the run *failed* with that reason,
    as the manual's states say.
    """
    runs.require(user, runs.OPERATE)
    if entity:
        _importer(entity)
    limit = getattr(settings, "NIGHTSHIFT_IMPORT_MAX_BYTES", MAX_BYTES)
    size = getattr(stream, "size", None)
    if size is not None and size > limit:
        raise ValidationError(
            {
                "file": _("The file is %(size)s MB; files up to %(limit)s MB can be imported.")
                % {
                    "size": round(size / 2**20, 1),
                    "limit": round(limit / 2**20, 1),
                }
            }
        )
    with acting_as(user), transaction.atomic():
        upload = ImportFile(name=name[:255], entity=entity)
        upload.file.save(name, File(stream, name=name), save=False)
        upload.size = upload.file.size
        if upload.size > limit:
            upload.file.delete(save=False)
            raise ValidationError(
                {
                    "file": _("The file is %(size)s MB; files up to %(limit)s MB can be imported.")
                    % {
                        "size": round(upload.size / 2**20, 1),
                        "limit": round(limit / 2**20, 1),
                    }
                }
            )
        try:
            upload.layout = inspect(upload.file.path, sheet=sheet).as_dict()
        except FileProblem as exc:
            upload.problem = str(exc)
        upload.save()
    return upload


def get_upload(upload_id: int) -> ImportFile:
    upload = ImportFile.objects.filter(pk=upload_id, source_path="").first()
    if upload is None:
        raise ObjectDoesNotExist(_("There is no uploaded file #%(id)s.") % {"id": upload_id})
    return upload


def describe_upload(
    *, upload_id: int, entity: str, header: bool = True, sheet: str = ""
) -> dict[str, Any]:
    """The mapping step: the file's columns, its first rows, the mapping suggested for
    ``entity`` and the entity's fields. ``problem`` says why the file cannot be read."""
    upload = get_upload(upload_id)
    importer = _importer(entity)
    answer: dict[str, Any] = {
        "upload": upload.pk,
        "name": upload.name,
        "entity": entity,
        "layout": upload.layout,
        "problem": upload.problem,
        "columns": [],
        "rows": [],
        "mapping": {},
    }
    if upload.problem:
        return answer
    try:
        layout = Layout(**{**upload.layout, "sheet": sheet or upload.layout.get("sheet", "")})
        if sheet and sheet not in layout.sheets:
            layout = inspect(upload.path, sheet=sheet)
        rows = [
            cells for _number, cells in islice(Source(upload.path, layout).rows(), SAMPLE_ROWS + 1)
        ]
    except FileProblem as exc:
        return {**answer, "problem": str(exc)}
    if not rows:
        return {**answer, "problem": _("The file has no rows.")}
    columns = column_names(rows[0], header=header)
    body = rows[1:] if header else rows[:SAMPLE_ROWS]
    answer.update(
        layout=layout.as_dict(),
        columns=columns,
        rows=[[_text(cell) for cell in cells] for cells in body],
        mapping=suggest_mapping(importer, columns),
    )
    return answer


def _text(cell: Any) -> str:
    from nightshift.imports.conversion import to_text

    return to_text(cell)


def _parameters(entity: str, upload_id: int, **options: Any) -> dict[str, Any]:
    """The import's parameters validated as a run definition's would be."""
    data = {"entity": entity, "upload": upload_id, **options}
    try:
        return ImportData.validate_parameters(data)
    except ParameterError as exc:
        raise ValidationError(exc.errors) from None


def preview_import(
    *, upload_id: int, entity: str, limit: int = PREVIEW_ROWS, **options: Any
) -> dict[str, Any]:
    """The preview step: what importing would do to the first ``limit`` rows (create, update
    or reject and why), writing nothing. ``options`` are the import's parameters (mapping,
    header, update_existing, create_missing, settings, sheet, day_first)."""
    params = ImportParameters.model_validate(_parameters(entity, upload_id, **options))
    upload = get_upload(upload_id)
    if upload.problem:
        raise ValidationError({"file": upload.problem})
    try:
        job = FileJob(
            get_importer(entity),
            upload.path,
            params.options(),
            mapping=params.mapping,
            sheet=params.sheet,
            code_prefix=f"I{upload.pk}-",
        )
        rows = list(islice(job.data_rows(), limit))
    except FileProblem as exc:
        raise ValidationError({"file": str(exc)}) from None
    except MappingProblem as exc:
        raise ValidationError(
            {f"mapping.{name}": message for name, message in exc.problems.items()}
        ) from None
    with transaction.atomic():
        results = {result.row: result for result in job.loader.preview(rows)}
    return {
        "columns": job.columns,
        "mapping": job.mapping,
        "rows": [
            {
                "row": number,
                "cells": [_text(cell) for cell in cells],
                "action": results[number].action,
                "message": results[number].message,
            }
            for number, cells in rows
        ],
    }


def start_import(
    *,
    user: AbstractUser,
    entity: str,
    upload_id: int,
    name: str = "",
    log_level: str = "errors",
    schedule: Mapping[str, Any] | None = None,
    notify_on_completion: bool = True,
    server: str | None = None,
    **options: Any,
) -> ScheduledTask:
    """Create the import's run definition and submit it (now, or on ``schedule``).

    The definition is an ordinary one of the ``imports.file`` process, so the import is on
    the Batch Process Admin Board like every run; the scheduler fires it and a worker runs it.
    """
    upload = get_upload(upload_id)
    parameters = _parameters(entity, upload_id, **options)
    importer = _importer(entity)
    definition = runs.create_definition(
        user=user,
        process_key=ImportData.key,
        name=name
        or _("Import %(entity)s from %(file)s")
        % {
            "entity": str(importer.name).lower(),
            "file": upload.name,
        },
        parameters=parameters,
        schedule=dict(schedule or {"mode": "now"}),
        log_level=log_level,
        notify_on_completion=notify_on_completion,
        server=server,
    )
    return runs.submit_definition(user=user, unified_code=definition.unified_code)
