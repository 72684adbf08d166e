"""The Imports area: the list of import runs, the four-step wizard (entity, upload, mapping,
preview) and the downloads (an import's error file, an entity's template).

Thin views: the wizard's steps call the actions of ``nightshift.imports.actions`` that the
REST API and the CLI call, and put their refusals next to the fields they name.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from nightshift.imports import actions
from nightshift.imports.forms import ImportFilterForm, MappingForm, UploadForm
from nightshift.imports.loading import CREATE, REJECT, UPDATE
from nightshift.imports.models import DataImport
from nightshift.imports.processes import ImportData
from nightshift.imports.registry import Importer, all_importers, get_importer
from nightshift.imports.templates import TEMPLATE_FORMATS, template
from nightshift.runs import actions as runs
from nightshift.runs.forms import ScheduleForm, add_action_errors
from nightshift.runs.models import ProcessRun
from nightshift.runs.scheduler import fire_task_now

PAGE_SIZE = 50  # import runs per page of the list

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


# ----------------------------------------------------------------------------- the wizard


def import_runs() -> QuerySet[ProcessRun]:
    """Runs of the import processes, newest first, with their definitions and data imports."""
    return (
        ProcessRun.objects.filter(process_key__startswith="imports.")
        .select_related("definition", "requested_by")
        .prefetch_related("imports")
        .order_by("-pk")
    )


@login_required
@permission_required("runs.view_processrun", raise_exception=True)
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    """The Imports area: import runs with their files and error files, filtered."""
    form = ImportFilterForm(request.GET)
    page = Paginator(form.filter(import_runs()), PAGE_SIZE).get_page(request.GET.get("page"))
    names = {importer.key: importer.name for importer in all_importers()}
    for run in page:
        entity = run.definition.parameters.get("entity", "")
        run.entity_name = names.get(entity, entity)
        run.data_imports = list(run.imports.all())
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "imports/import_list.html",
        {
            "form": form,
            "runs": page,
            "query": query.urlencode(),
            "can_operate": request.user.has_perm(runs.OPERATE),
        },
    )


def _operator(request: HttpRequest) -> None:
    runs.require(request.user, runs.OPERATE)


def _importer_or_404(entity: str) -> Importer:
    try:
        return get_importer(entity)
    except LookupError as exc:
        raise Http404(str(exc)) from None


@login_required
@require_GET
def choose_entity(request: HttpRequest) -> HttpResponse:
    """Step 1: what the file holds, with each entity's templates."""
    _operator(request)
    return render(request, "imports/wizard_entity.html", {"importers": all_importers(), "step": 1})


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest, entity: str) -> HttpResponse:
    """Step 2: the file, dropped on the page or chosen. A file that cannot be read is said so
    here, next to the file field."""
    _operator(request)
    importer = _importer_or_404(entity)
    form = UploadForm(request.POST, request.FILES) if request.method == "POST" else UploadForm()
    if request.method == "POST" and form.is_valid():
        given = form.cleaned_data["file"]
        try:
            uploaded = actions.upload_file(
                user=request.user,
                stream=given,
                name=given.name,
                entity=entity,
                sheet=form.cleaned_data["sheet"],
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            if not uploaded.problem:
                return redirect("imports:map", upload_id=uploaded.pk, entity=entity)
            form.add_error("file", uploaded.problem)
    return render(
        request,
        "imports/wizard_upload.html",
        {"form": form, "importer": importer, "step": 2},
    )


@login_required
@require_http_methods(["GET", "POST"])
def map_columns(request: HttpRequest, upload_id: int, entity: str) -> HttpResponse:
    """Steps 3 and 4: the mapping (``step=map`` redisplays it), the preview (``step=preview``)
    and Start import (``step=start``). The choices travel through the preview as hidden
    fields; nothing is stored until the import starts."""
    _operator(request)
    importer = _importer_or_404(entity)
    data = request.POST if request.method == "POST" else None
    header = data.get("header", "") not in ("", "False", "false") if data else True
    sheet = data.get("sheet", "") if data else ""
    try:
        described = actions.describe_upload(
            upload_id=upload_id, entity=entity, header=header, sheet=sheet
        )
    except ObjectDoesNotExist as exc:
        raise Http404(str(exc)) from None
    form = MappingForm(importer, described, data)
    schedule = ScheduleForm(data, with_agenda=False)
    context: dict[str, Any] = {
        "importer": importer,
        "described": described,
        "form": form,
        "schedule": schedule,
        "problems": [described["problem"]] if described["problem"] else [],
        "process": ImportData,
        "timezones": ScheduleForm.timezones(),
        "step": 3,
    }
    step = data.get("step", "map") if data else "map"
    if data is None or step == "map" or described["problem"]:
        return render(request, "imports/wizard_map.html", context)
    if not (form.is_valid() and schedule.is_valid()):
        return render(request, "imports/wizard_map.html", context)
    options = form.options()
    try:
        if step == "start":
            return _start(
                request,
                entity=entity,
                upload_id=upload_id,
                form=form,
                schedule=schedule.to_schedule(),
                options=options,
            )
        preview = actions.preview_import(upload_id=upload_id, entity=entity, **options)
    except ValidationError as exc:
        context["problems"] = form.add_action_errors(exc, schedule=schedule)
        return render(request, "imports/wizard_map.html", context)
    context.update(
        preview=_preview_rows(preview),
        columns=preview["columns"],
        counts=_counts(preview),
        step=4,
    )
    return render(request, "imports/wizard_preview.html", context)


def _start(
    request: HttpRequest,
    *,
    entity: str,
    upload_id: int,
    form: MappingForm,
    schedule: dict[str, Any],
    options: dict[str, Any],
) -> HttpResponse:
    task = actions.start_import(
        user=request.user,
        entity=entity,
        upload_id=upload_id,
        schedule=schedule,
        **form.general(),
        **options,
    )
    run = fire_task_now(task) if schedule.get("mode") == "now" else None
    if run is not None:
        messages.success(request, _("Import run #%(number)s started.") % {"number": run.pk})
        return redirect("runs:run", number=run.pk)
    messages.success(
        request,
        _("Import %(code)s was scheduled.") % {"code": task.definition.unified_code},
    )
    return redirect("imports:list")


ACTION_LABELS = {
    CREATE: gettext_lazy("Create"),
    UPDATE: gettext_lazy("Update"),
    REJECT: gettext_lazy("Reject"),
}


def _preview_rows(preview: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**row, "label": ACTION_LABELS[row["action"]]} for row in preview["rows"]]


def _counts(preview: dict[str, Any]) -> list[tuple[str, str, int]]:
    found = dict.fromkeys(ACTION_LABELS, 0)
    for row in preview["rows"]:
        found[row["action"]] += 1
    return [(action, ACTION_LABELS[action], found[action]) for action in ACTION_LABELS]
