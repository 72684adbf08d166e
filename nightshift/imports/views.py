"""Downloads: an import's error file and an entity's import template."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from nightshift.imports.models import DataImport
from nightshift.imports.registry import get_importer
from nightshift.imports.templates import TEMPLATE_FORMATS, template

CONTENT_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@login_required
@permission_required("runs.view_processrun", raise_exception=True)
def error_file(request: HttpRequest, import_id: int) -> FileResponse:
    """The rejected rows of an import, in the format of its upload."""
    data_import = get_object_or_404(DataImport, pk=import_id)
    if not data_import.error_file:
        raise Http404("This import rejected no rows; it has no error file.")
    name = data_import.error_file.name.rsplit("/", 1)[-1]
    return FileResponse(data_import.error_file.open("rb"), as_attachment=True, filename=name)


@login_required
def import_template(request: HttpRequest, entity: str, fmt: str) -> HttpResponse:
    """The template of an entity: its columns, a sample row (and the fields described)."""
    try:
        importer = get_importer(entity)
    except LookupError as exc:
        raise Http404(str(exc)) from None
    if fmt not in TEMPLATE_FORMATS:
        raise Http404("Templates are .csv or .xlsx.")
    response = HttpResponse(template(importer, fmt), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{entity}-template.{fmt}"'
    return response
