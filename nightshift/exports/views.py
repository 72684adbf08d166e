"""The Exports area: export runs with their files, and starting a new export."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from nightshift.exports import actions
from nightshift.exports.api import download_response, export_runs
from nightshift.exports.forms import ExportFilterForm, ExportForm
from nightshift.exports.registry import all_exporters, get_exporter
from nightshift.runs.actions import OPERATE
from nightshift.runs.forms import ScheduleForm

PAGE_SIZE = 50  # runs per page of the list


@login_required
@permission_required("runs.view_processrun", raise_exception=True)
@require_GET
def export_list(request: HttpRequest) -> HttpResponse:
    form = ExportFilterForm(request.GET)
    runs = form.filter(export_runs()).order_by("-pk")
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "exports/export_list.html",
        {
            "form": form,
            "runs": page,
            "query": query.urlencode(),
            "exporters": all_exporters(),
            "can_operate": request.user.has_perm(OPERATE),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def export_create(request: HttpRequest) -> HttpResponse:
    """Choose the entity (``?entity=KEY``), then its output settings and scheduling."""
    if not request.user.has_perm(OPERATE):
        raise PermissionDenied
    key = request.POST.get("entity") or request.GET.get("entity") or ""
    try:
        exporter = get_exporter(key)
    except LookupError:
        return render(request, "exports/export_choose.html", {"exporters": all_exporters()})
    if request.method == "GET":
        form, schedule = ExportForm(exporter), ScheduleForm(with_agenda=False)
        return _form_page(request, form, schedule)
    form = ExportForm(exporter, request.POST)
    schedule = ScheduleForm(request.POST, with_agenda=False)
    if form.is_valid() and schedule.is_valid():
        try:
            started = actions.start_export(
                user=request.user, schedule=schedule.to_schedule(), **form.values()
            )
        except ValidationError as exc:
            for message in form.add_action_errors(exc):
                schedule.add_error(None, message)
        else:
            if started.run is not None:
                messages.success(
                    request, _("Export run #%(number)s started.") % {"number": started.run.pk}
                )
                return redirect("runs:run", number=started.run.pk)
            messages.success(
                request,
                _("Export %(code)s was scheduled.")
                % {"code": started.task.definition.unified_code},
            )
            return redirect("exports:list")
    messages.error(request, _("The export was not started; see the fields marked below."))
    return _form_page(request, form, schedule)


def _form_page(request: HttpRequest, form: ExportForm, schedule: ScheduleForm) -> HttpResponse:
    return render(
        request,
        "exports/export_form.html",
        {
            "form": form,
            "schedule": schedule,
            "exporter": form.exporter,
            "timezones": ScheduleForm.timezones(),
        },
    )


@login_required
@require_GET
def download(request: HttpRequest, number: int) -> HttpResponse:
    try:
        export = actions.export_file(user=request.user, number=number)
    except ObjectDoesNotExist as exc:
        raise Http404(str(exc)) from None
    return download_response(export)
