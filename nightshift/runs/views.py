"""The engine's pages: the scheduler, run definitions, the Batch Process Admin Board, a run's
detail and the daily log.

Thin views: they parse input with ``nightshift.runs.forms``, call one action of
``nightshift.runs.actions`` and render. The actions check the permissions of every write (a
``PermissionDenied`` becomes a 403) and report bad input by field; the few read helpers here
only shape what the pages show.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from nightshift.processes.base import Process
from nightshift.processes.registry import all_processes, get_process
from nightshift.runs import actions
from nightshift.runs.forms import (
    BoardFilterForm,
    DefinitionFilterForm,
    DefinitionForms,
    LogFilterForm,
    ScheduleForm,
    add_action_errors,
    parameter_groups,
)
from nightshift.runs.models import (
    AgendaEntry,
    LogEntry,
    LogLevel,
    ProcessRun,
    RunDefinition,
    RunItem,
    RunState,
    ScheduledTask,
    SchedulerState,
    TaskState,
)
from nightshift.scheduling.specs import ScheduleError, parse_schedule, preview

PAGE_SIZE = 25  # rows of the scheduler's and the definitions' lists
BOARD_PAGE_SIZE = 50  # the board is scanned, not read: more rows per page
ITEMS_PAGE_SIZE = 50  # records of a run's drill-down per page
LOG_PAGE_SIZE = 100  # daily log entries per page
RUN_LOG_LIMIT = 200  # a run's own log entries shown on its page; the daily log has them all
PREVIEW_COUNT = 10  # next firings shown while a schedule is edited
# Scheduled-task filters, in the order of the filter's tabs.
TASK_FILTERS = ("scheduled", "running", "completed", "deleted")


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


def _process_or_none(key: str) -> type[Process] | None:
    try:
        return get_process(key)
    except LookupError:
        return None


def _named(rows):
    """``rows`` (runs or definitions) each given ``process_name``: the registered process's
    name, or its key when the process is no longer installed."""
    names = {process.key: process.name for process in all_processes()}
    for row in rows:
        row.process_name = names.get(row.process_key, row.process_key)
    return rows


def _next_url(request: HttpRequest, default: str) -> str:
    candidate = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}):
        return candidate
    return default


def _page(request: HttpRequest, rows, size: int):
    return Paginator(rows, size).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# ----------------------------------------------------------------------------- scheduler


def _tasks(show: str) -> QuerySet[ScheduledTask]:
    """Scheduled tasks by filter. "Running" is a task with a run not ended (draft or in
    progress); such a task is shown there rather than among the scheduled or completed ones."""
    running = Exists(ProcessRun.objects.filter(task=OuterRef("pk"), state__in=RunState.active()))
    tasks = ScheduledTask.objects.annotate(is_running=running).select_related(
        "definition", "server", "requested_by"
    )
    if show == "running":
        return tasks.filter(is_running=True).order_by("-pk")
    if show == "completed":
        return tasks.filter(state=TaskState.COMPLETED, is_running=False).order_by("-pk")
    if show == "deleted":
        return tasks.filter(state=TaskState.DELETED).order_by("-pk")
    return tasks.filter(state=TaskState.SCHEDULED, is_running=False).order_by("next_fire_at", "pk")


def _task_counts() -> dict[str, int]:
    running = Exists(ProcessRun.objects.filter(task=OuterRef("pk"), state__in=RunState.active()))
    return ScheduledTask.objects.annotate(is_running=running).aggregate(
        scheduled=Count("pk", filter=Q(state=TaskState.SCHEDULED, is_running=False)),
        running=Count("pk", filter=Q(is_running=True)),
        completed=Count("pk", filter=Q(state=TaskState.COMPLETED, is_running=False)),
        deleted=Count("pk", filter=Q(state=TaskState.DELETED)),
    )


def _next_firing(schedule: dict) -> Any:
    try:
        firings = preview(parse_schedule(schedule), 1, after=timezone.now())
    except ScheduleError:
        return None
    return firings[0] if firings else None


@login_required
@permission_required("runs.view_scheduledtask", raise_exception=True)
@require_GET
def scheduler(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("tasks", "scheduled")
    if show not in TASK_FILTERS:
        show = "scheduled"
    counts = _task_counts()
    entries = dict(AgendaEntry.objects.values_list("process_key", "schedule"))
    agenda = []
    for process in all_processes():
        schedule = entries.get(process.key, process.default_agenda)
        agenda.append(
            {
                "process": process,
                "entry": process.key in entries,
                "is_default": process.key not in entries and schedule is not None,
                "schedule": json.dumps(schedule) if schedule else "",
                "next": _next_firing(schedule) if schedule else None,
            }
        )
    return render(
        request,
        "runs/scheduler.html",
        {
            "state": SchedulerState.get(),
            "show": show,
            "filters": [(key, counts[key]) for key in TASK_FILTERS],
            "tasks": _page(request, _tasks(show), PAGE_SIZE),
            "query": _query_without_page(request),
            "agenda": agenda,
            "can_control": request.user.has_perm(actions.CONTROL_SCHEDULER),
            "can_operate": request.user.has_perm(actions.OPERATE),
        },
    )


@login_required
@require_POST
def scheduler_state(request: HttpRequest) -> HttpResponse:
    running = request.POST.get("running") == "1"
    actions.set_scheduler_state(user=request.user, running=running)
    messages.success(
        request,
        _("The scheduler is running.") if running else _("The scheduler is in standby."),
    )
    return redirect("runs:scheduler")


@login_required
@require_POST
def task_delete(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        actions.delete_task(user=request.user, task_id=pk)
    except ObjectDoesNotExist as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Scheduled task #%(id)s was deleted.") % {"id": pk})
    return redirect(_next_url(request, reverse("runs:scheduler")))


@login_required
@permission_required("runs.view_agendaentry", raise_exception=True)
@require_http_methods(["GET", "POST"])
def agenda_edit(request: HttpRequest) -> HttpResponse:
    """The automatic agenda's default schedule of one process (``?process=KEY``)."""
    if not request.user.has_perm(actions.CONTROL_SCHEDULER):
        raise PermissionDenied
    key = request.GET.get("process") or request.POST.get("process") or ""
    process = _process_or_none(key)
    if process is None:
        raise Http404(_("There is no process “%(key)s”.") % {"key": key})
    entry = AgendaEntry.objects.filter(process_key=key).first()
    if request.method == "POST":
        if "remove" in request.POST:
            actions.set_agenda(user=request.user, process_key=key, schedule=None)
            messages.success(
                request,
                _(
                    "The automatic agenda entry of this process was removed; the process's own "
                    "default schedule applies, if it has one."
                ),
            )
            return redirect("runs:scheduler")
        form = ScheduleForm(request.POST, with_agenda=False)
        if form.is_valid():
            try:
                actions.set_agenda(user=request.user, process_key=key, schedule=form.to_schedule())
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(request, _("The automatic agenda was saved."))
                return redirect("runs:scheduler")
    else:
        form = ScheduleForm(
            initial=ScheduleForm.initial_from(actions.agenda_schedule(key)),
            with_agenda=False,
        )
    return render(
        request,
        "runs/agenda_form.html",
        {"process": process, "entry": entry, "form": form, "timezones": ScheduleForm.timezones()},
    )


@login_required
@permission_required("runs.view_rundefinition", raise_exception=True)
@require_http_methods(["GET", "POST"])
def schedule_preview(request: HttpRequest) -> HttpResponse:
    """The next firings of the schedule being edited (an htmx fragment), or what is wrong
    with it. With "follow the automatic agenda", the agenda's schedule of ``process``."""
    data = request.POST if request.method == "POST" else request.GET
    form = ScheduleForm(data)
    context: dict[str, Any] = {"firings": [], "error": "", "count": PREVIEW_COUNT}
    schedule = None
    if not form.is_valid():
        context["error"] = " ".join(
            f"{form[name].label}: {' '.join(errors)}" if name != "__all__" else " ".join(errors)
            for name, errors in form.errors.items()
        )
    elif form.cleaned_data.get("follow_agenda"):
        schedule = actions.agenda_schedule(data.get("process", ""))
        if schedule is None:
            context["error"] = actions.NO_AGENDA
        else:
            context["agenda"] = True
    else:
        schedule = form.to_schedule()
    if schedule is not None:
        try:
            spec = parse_schedule(schedule)
        except ScheduleError as exc:
            context["error"] = str(exc)
        else:
            context["firings"] = preview(spec, PREVIEW_COUNT, after=timezone.now())
            context["zone"] = spec.timezone
            context["mode"] = spec.mode
    return render(request, "runs/_schedule_preview.html", context)


# ----------------------------------------------------------------------------- definitions


@login_required
@permission_required("runs.view_rundefinition", raise_exception=True)
@require_GET
def definition_list(request: HttpRequest) -> HttpResponse:
    form = DefinitionFilterForm(request.GET)
    definitions = RunDefinition.objects.filter(is_latest=True).with_scheduled_date()
    if form.is_valid():
        data = form.cleaned_data
        if data["process"]:
            definitions = definitions.filter(process_key=data["process"])
        if data["life_cycle"]:
            definitions = definitions.filter(life_cycle=data["life_cycle"])
        if text := data["q"].strip():
            definitions = definitions.filter(
                Q(name__icontains=text)
                | Q(unified_code__icontains=text)
                | Q(alternative_code__icontains=text)
            )
    return render(
        request,
        "runs/definition_list.html",
        {
            "form": form,
            "definitions": _named(_page(request, definitions.order_by("-pk"), PAGE_SIZE)),
            "query": _query_without_page(request),
            "can_operate": request.user.has_perm(actions.OPERATE),
        },
    )


def _require_operate(request: HttpRequest) -> None:
    """The definition screens are for those who may save them (the action checks again)."""
    if not request.user.has_perm(actions.OPERATE):
        raise PermissionDenied


def _form_page(
    request: HttpRequest, forms: DefinitionForms, definition: RunDefinition | None
) -> HttpResponse:
    return render(
        request,
        "runs/definition_form.html",
        {
            "forms": forms,
            "process": forms.process,
            "definition": definition,
            "timezones": ScheduleForm.timezones(),
        },
    )


@login_required
@permission_required("runs.view_rundefinition", raise_exception=True)
@require_http_methods(["GET", "POST"])
def definition_create(request: HttpRequest) -> HttpResponse:
    """Choose the process first (``?process=KEY``), then fill in its definition."""
    _require_operate(request)
    key = request.POST.get("process") or request.GET.get("process") or ""
    process = _process_or_none(key)
    if process is None:
        return render(
            request, "runs/definition_choose.html", {"processes": all_processes(), "key": key}
        )
    if request.method == "GET":
        return _form_page(request, DefinitionForms(process), None)
    forms = DefinitionForms(process, request.POST)
    if forms.is_valid():
        try:
            definition = actions.create_definition(
                user=request.user, process_key=process.key, **forms.fields()
            )
        except ValidationError as exc:
            forms.add_action_errors(exc)
        else:
            messages.success(
                request,
                _("Run definition %(code)s was created.") % {"code": definition.unified_code},
            )
            return redirect("runs:definition", code=definition.unified_code)
    messages.error(request, _("The run definition was not saved; see the fields marked below."))
    return _form_page(request, forms, None)


def _versions(code: str) -> list[RunDefinition]:
    versions = list(
        RunDefinition.objects.filter(unified_code=code)
        .select_related("server", "created_by", "updated_by", "created_by_unit", "updated_by_unit")
        .order_by("-version")
    )
    if not versions:
        raise Http404(_("There is no run definition with the code “%(code)s”.") % {"code": code})
    return versions


def _shown(value: Any) -> str:
    if value is None or value in ("", []):
        return "–"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list) and all(isinstance(item, str | int | float) for item in value):
        return ", ".join(str(item) for item in value)
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def _parameter_rows(definition: RunDefinition) -> list[tuple[Any, list[tuple[str, str]]]]:
    """The definition's parameters as its form groups them: (group title, [(title, value)])."""
    process = _process_or_none(definition.process_key)
    values = definition.parameters or {}
    if process is None:
        return [(_("Parameters"), [(name, _shown(value)) for name, value in values.items()])]
    return [
        (title, [(label, _shown(values.get(name))) for name, label in rows])
        for _key, title, rows in parameter_groups(process.parameter_schema())
    ]


@login_required
@permission_required("runs.view_rundefinition", raise_exception=True)
@require_GET
def definition_detail(request: HttpRequest, code: str) -> HttpResponse:
    """The latest version of a definition, or with ``?version=N`` a previous one, with its
    configuration and its runs."""
    versions = _versions(code)
    latest = next((v for v in versions if v.is_latest), versions[0])
    definition = latest
    if request.GET.get("version"):
        definition = next((v for v in versions if str(v.version) == request.GET["version"]), None)
        if definition is None:
            raise Http404(_("This run definition has no such version."))
    runs = definition.runs.select_related("server", "requested_by").order_by("-pk")
    tasks = definition.tasks.select_related("server", "requested_by").order_by("-pk")
    process = _process_or_none(definition.process_key)
    return render(
        request,
        "runs/definition_detail.html",
        {
            "definition": definition,
            "latest": latest,
            "versions": versions,
            "process": process,
            "parameter_rows": _parameter_rows(definition),
            "schedule_json": json.dumps(definition.schedule, indent=2),
            "throttle_json": json.dumps(definition.throttle) if definition.throttle else "",
            "scheduled_date": latest.scheduled_date(),
            "runs": _page(request, runs, PAGE_SIZE),
            "tasks": tasks,
            "query": _query_without_page(request),
            "can_operate": request.user.has_perm(actions.OPERATE),
        },
    )


@login_required
@permission_required("runs.view_rundefinition", raise_exception=True)
@require_http_methods(["GET", "POST"])
def definition_edit(request: HttpRequest, code: str) -> HttpResponse:
    _require_operate(request)
    current = next((v for v in _versions(code) if v.is_latest), None)
    if current is None:
        raise Http404
    process = _process_or_none(current.process_key)
    if process is None:
        messages.error(
            request,
            _("The process “%(key)s” of this definition is no longer installed.")
            % {"key": current.process_key},
        )
        return redirect("runs:definition", code=code)
    if request.method == "GET":
        return _form_page(request, DefinitionForms(process, definition=current), current)
    forms = DefinitionForms(process, request.POST, definition=current)
    if forms.is_valid():
        try:
            definition = actions.edit_definition(
                user=request.user, unified_code=code, **forms.fields()
            )
        except ValidationError as exc:
            forms.add_action_errors(exc)
        else:
            if definition.version > current.version:
                messages.success(
                    request,
                    _(
                        "Version %(old)s has runs or scheduled tasks, so it stays as it was: "
                        "your changes were saved as version %(new)s."
                    )
                    % {"old": current.version, "new": definition.version},
                )
            else:
                messages.success(
                    request,
                    _("Run definition %(code)s was saved (version %(version)s).")
                    % {"code": code, "version": definition.version},
                )
            return redirect("runs:definition", code=code)
    messages.error(request, _("The run definition was not saved; see the fields marked below."))
    return _form_page(request, forms, current)


@login_required
@require_POST
def definition_submit(request: HttpRequest, code: str) -> HttpResponse:
    try:
        task = actions.submit_definition(
            user=request.user, unified_code=code, password=request.POST.get("password") or None
        )
    except ObjectDoesNotExist as exc:
        raise Http404(str(exc)) from None
    except PermissionDenied as exc:
        # Refused by the process (a permission of its own, too many wrong passwords): said on
        # the page. Refused the right to operate runs at all: a plain 403, as everywhere.
        if not request.user.has_perm(actions.OPERATE):
            raise
        messages.error(
            request, _("The run definition was not submitted: %(reason)s") % {"reason": exc}
        )
    except ValidationError as exc:
        messages.error(
            request,
            _("The run definition was not submitted: %(reason)s") % {"reason": _error_text(exc)},
        )
    else:
        messages.success(
            request,
            _("Submitted to the scheduler as task #%(task)s; first firing %(when)s.")
            % {
                "task": task.pk,
                "when": timezone.localtime(task.next_fire_at).strftime("%Y-%m-%d %H:%M"),
            },
        )
    return redirect("runs:definition", code=code)


# ----------------------------------------------------------------------------- runs


def _runs() -> QuerySet[ProcessRun]:
    return ProcessRun.objects.select_related("definition", "server", "requested_by")


@login_required
@permission_required("runs.view_processrun", raise_exception=True)
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    """The Batch Process Admin Board: every run of every process, newest first."""
    form = BoardFilterForm(request.GET)
    runs = form.filter(_runs()).order_by("-pk")
    return render(
        request,
        "runs/board.html",
        {
            "form": form,
            "runs": _named(_page(request, runs, BOARD_PAGE_SIZE)),
            "query": _query_without_page(request),
        },
    )


@login_required
@permission_required("runs.view_processrun", raise_exception=True)
@require_GET
def board_row(request: HttpRequest, number: int) -> HttpResponse:
    """One row of the board, polled while its run is active."""
    run = get_object_or_404(_runs(), pk=number)
    _named([run])
    return render(request, "runs/board.html#run-row", {"run": run})


def _record_link(process: type[Process] | None, user, record_id: int) -> str | None:
    """The admin change page of a run's record, for users who can open it."""
    model = process.model if process else None
    if model is None or not user.is_staff or not admin.site.is_registered(model):
        return None
    opts = model._meta
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[record_id])
    except NoReverseMatch:
        return None


@login_required
@permission_required("runs.view_processrun", raise_exception=True)
@require_GET
def run_detail(request: HttpRequest, number: int) -> HttpResponse:
    """A run's summary and live progress, and a drill-down into its records
    (``?items=success|error``) and its log."""
    run = get_object_or_404(_runs(), pk=number)
    process = _process_or_none(run.process_key)
    shown = request.GET.get("items")
    items = None
    if shown in ("success", "error"):
        rows = RunItem.objects.filter(run=run, ok=shown == "success").order_by("record_id")
        items = _page(request, rows, ITEMS_PAGE_SIZE)
        for item in items:
            item.link = _record_link(process, request.user, item.record_id)
    log = list(LogEntry.objects.filter(run=run).order_by("-at", "-pk")[:RUN_LOG_LIMIT])
    return render(
        request,
        "runs/run_detail.html",
        {
            "run": run,
            "process": process,
            "items": items,
            "shown": shown,
            "query": _query_without_page(request),
            "log": log,
            "can_operate": request.user.has_perm(actions.OPERATE),
            "stores_successes": run.definition.log_level == LogLevel.ALL,
            "outputs": process().outputs(run) if process else [],
        },
    )


@login_required
@permission_required("runs.view_processrun", raise_exception=True)
@require_GET
def run_progress(request: HttpRequest, number: int) -> HttpResponse:
    """The run's state and progress, polled while it is active. When htmx polls a run that
    has just ended, the whole page reloads once: its record counts and log are final now."""
    run = get_object_or_404(_runs(), pk=number)
    response = render(
        request,
        "runs/run_detail.html#progress",
        {"run": run, "can_operate": request.user.has_perm(actions.OPERATE)},
    )
    if request.headers.get("HX-Request") and not run.is_active:
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def run_stop(request: HttpRequest, number: int) -> HttpResponse:
    try:
        run = actions.stop_run(user=request.user, number=number)
    except ObjectDoesNotExist as exc:
        raise Http404(str(exc)) from None
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        if run.state == RunState.STOPPED:
            messages.success(request, _("Run #%(number)s was stopped.") % {"number": number})
        else:
            messages.success(
                request,
                _(
                    "Run #%(number)s stops after the batch in flight is rolled back; records "
                    "already processed stay processed."
                )
                % {"number": number},
            )
    return redirect("runs:run", number=number)


@login_required
@require_POST
def run_delete(request: HttpRequest, number: int) -> HttpResponse:
    try:
        actions.delete_run(user=request.user, number=number)
    except ObjectDoesNotExist as exc:
        raise Http404(str(exc)) from None
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
        return redirect("runs:run", number=number)
    messages.success(request, _("Run #%(number)s was deleted.") % {"number": number})
    return redirect(_next_url(request, reverse("runs:board")))


# ----------------------------------------------------------------------------- daily log


@login_required
@permission_required("runs.view_logentry", raise_exception=True)
@require_GET
def daily_log(request: HttpRequest) -> HttpResponse:
    form = LogFilterForm(request.GET)
    entries = form.filter(LogEntry.objects.select_related("user").order_by("-at", "-pk"))
    return render(
        request,
        "runs/daily_log.html",
        {
            "form": form,
            "day": form.day_shown(),
            "entries": _page(request, entries, LOG_PAGE_SIZE),
            "query": _query_without_page(request),
        },
    )
