"""The run engine over HTTP: run definitions and their versions, scheduled tasks, process runs
and their items, the scheduler's state, the automatic agenda, the daily log and the schedule
preview.

Endpoints parse, call one action of ``nightshift.runs.actions`` and render. The actions' refusals
become JSON: a ``ValidationError`` keyed by field is a 422 ``{"detail", "errors": {field:
message}}``, one about the record's state (stopping an ended run) a 409, ``PermissionDenied`` a
403 and a missing record a 404 whose ``detail`` names it. Reading needs the model's ``view_``
permission, as everywhere in the API.

The querysets and schemas here are also what the ``definitions``, ``tasks`` and ``runs``
commands print with ``--json``, so the CLI and the API answer with the same shapes.
"""

# No ``from __future__ import annotations``: Ninja reads the endpoints' annotations at import
# time, through decorators (pagination) whose module cannot resolve the names as strings.

import functools
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import models
from django.db.models import OuterRef, Q, Subquery
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from ninja import Field, FilterLookup, FilterSchema, Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import ConfigDict

from nightshift.api.resources import Pagination, require_view_permission
from nightshift.processes.registry import all_processes
from nightshift.runs import actions
from nightshift.runs.models import (
    AgendaEntry,
    LifeCycle,
    LogEntry,
    LogLevel,
    MisfirePolicy,
    ProcessRun,
    RunDefinition,
    RunItem,
    RunState,
    ScheduledTask,
    SchedulerState,
    TaskState,
    Worker,
)
from nightshift.scheduling.specs import ScheduleError, parse_schedule, preview

router = Router()

MAX_PREVIEW = 1000  # firings one preview computes; enough for a year of hourly slots


# Errors ---------------------------------------------------------------------------------------


class ErrorOut(Schema):
    detail: str


class FieldErrorsOut(Schema):
    detail: str
    errors: dict[str, str] = Field(description="The message for each field at fault.")


REFUSALS: dict[int, Any] = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: FieldErrorsOut}


def field_errors(error: ValidationError) -> dict[str, str]:
    return {field: " ".join(messages) for field, messages in error.message_dict.items()}


def refusal(error: Exception) -> JsonResponse:
    """The JSON answer for an action's refusal (see the module docstring)."""
    if isinstance(error, ValidationError):
        if not hasattr(error, "error_dict"):
            return JsonResponse({"detail": " ".join(error.messages)}, status=409)
        errors = field_errors(error)
        detail = "\n".join(f"{field}: {message}" for field, message in errors.items())
        return JsonResponse({"detail": detail, "errors": errors}, status=422)
    status = 403 if isinstance(error, PermissionDenied) else 404
    return JsonResponse({"detail": str(error)}, status=status)


def operator_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    """Answer the actions' refusals as JSON instead of letting them become a 500 or an HTML
    403 page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return view(request, *args, **kwargs)
        except (ValidationError, PermissionDenied, ObjectDoesNotExist) as error:
            return refusal(error)

    return wrapper


router.add_decorator(operator_errors)


def _username(user) -> str | None:
    return user.get_username() if user is not None else None


# Run definitions ------------------------------------------------------------------------------


class DefinitionOut(Schema):
    code: str = Field(description="The unified code all versions of the definition share.")
    version: int
    is_latest: bool
    process: str
    name: str
    alternative_code: str
    description: str
    life_cycle: LifeCycle
    parameters: dict[str, Any]
    schedule: dict[str, Any]
    follow_agenda: bool
    throttle: dict[str, Any] | None
    server: str | None = Field(description="Application server; none means the default one.")
    log_level: LogLevel
    notify_on_completion: bool
    misfire_policy: MisfirePolicy
    scheduled_date: datetime | None = Field(
        description="When any version of the definition next fires."
    )
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    updated_by: str | None

    @staticmethod
    def resolve_code(definition: RunDefinition) -> str:
        return definition.unified_code

    @staticmethod
    def resolve_process(definition: RunDefinition) -> str:
        return definition.process_key

    @staticmethod
    def resolve_server(definition: RunDefinition) -> str | None:
        return definition.server.name if definition.server else None

    @staticmethod
    def resolve_scheduled_date(definition: RunDefinition) -> datetime | None:
        return definition.scheduled_date()

    @staticmethod
    def resolve_created_by(definition: RunDefinition) -> str | None:
        return _username(definition.created_by)

    @staticmethod
    def resolve_updated_by(definition: RunDefinition) -> str | None:
        return _username(definition.updated_by)


class DefinitionIn(Schema):
    """A new run definition. Choices are checked by the engine, which answers a 422 naming the
    field (``name``, ``process``, ``parameters.<criterion>``, ``schedule``, ``throttle``…)."""

    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not ignored

    process: str = Field(description="Process key (GET /processes).")
    name: str = Field("", description="Required.")
    alternative_code: str = ""
    description: str = ""
    life_cycle: str = Field(LifeCycle.EFFECTIVE, description="effective | not_effective")
    parameters: dict[str, Any] = Field(default_factory=dict)
    schedule: dict[str, Any] = Field(
        default_factory=dict, description="Scheduling settings; required unless follow_agenda."
    )
    follow_agenda: bool = False
    throttle: dict[str, Any] | None = Field(
        None, description='{"max_records": N, "restart_after": {"every": N, "unit": U}}'
    )
    server: str | None = Field(None, description="Application server name (default server).")
    log_level: str = Field(LogLevel.ERRORS, description="errors | all")
    notify_on_completion: bool = True
    misfire_policy: str = Field(MisfirePolicy.FIRE_ONCE, description="fire_once | skip")


class DefinitionPatch(Schema):
    """The fields to change; fields left out keep their value. A version already used by runs
    or scheduled tasks is kept and the change becomes the next version."""

    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not ignored

    name: str | None = None
    alternative_code: str | None = None
    description: str | None = None
    life_cycle: str | None = None
    parameters: dict[str, Any] | None = None
    schedule: dict[str, Any] | None = None
    follow_agenda: bool | None = None
    throttle: dict[str, Any] | None = None
    server: str | None = None
    log_level: str | None = None
    notify_on_completion: bool | None = None
    misfire_policy: str | None = None


class DefinitionFilter(FilterSchema):
    process: Annotated[str | None, FilterLookup("process_key")] = None
    life_cycle: Annotated[LifeCycle | None, FilterLookup("life_cycle")] = None
    q: Annotated[
        str | None,
        FilterLookup(["unified_code__icontains", "name__icontains", "alternative_code__icontains"]),
    ] = Field(None, description="Text in the code, name or alternative code.")


def definitions() -> models.QuerySet[RunDefinition]:
    """Definition versions with what the schema reads, in one query per page."""
    return RunDefinition.objects.select_related(
        "server", "created_by", "updated_by"
    ).with_scheduled_date()


def definition_version(code: str, version: int | None = None) -> RunDefinition:
    """The latest version of definition ``code``, or its version ``version``."""
    if version is None:
        found = definitions().filter(unified_code=code, is_latest=True).first()
        message = _("There is no run definition with the code “%(code)s”.")
    else:
        found = definitions().filter(unified_code=code, version=version).first()
        message = _("Run definition “%(code)s” has no version %(version)s.")
    if found is None:
        raise ObjectDoesNotExist(message % {"code": code, "version": version})
    return found


@router.get(
    "/run-definitions",
    response={200: list[DefinitionOut], **REFUSALS},
    summary="List run definitions (latest versions)",
    tags=["run definitions"],
)
@paginate(Pagination)
def list_definitions(request: HttpRequest, filters: Query[DefinitionFilter]):
    require_view_permission(request, RunDefinition)
    return filters.filter(definitions().filter(is_latest=True)).order_by("-created_at", "-pk")


@router.post(
    "/run-definitions",
    response={201: DefinitionOut, **REFUSALS},
    summary="Create a run definition (version 1)",
    tags=["run definitions"],
)
def create_definition(request: HttpRequest, payload: DefinitionIn):
    data = payload.model_dump()
    data["process_key"] = data.pop("process")
    definition = actions.create_definition(user=request.auth, **data)
    return Status(201, definition_version(definition.unified_code))


@router.get(
    "/run-definitions/{code}",
    response={200: DefinitionOut, **REFUSALS},
    summary="Get a run definition (latest version, or ?version=N)",
    tags=["run definitions"],
)
def get_definition(request: HttpRequest, code: str, version: int | None = None):
    require_view_permission(request, RunDefinition)
    return definition_version(code, version)


@router.get(
    "/run-definitions/{code}/versions",
    response={200: list[DefinitionOut], **REFUSALS},
    summary="List every version of a run definition, newest first",
    tags=["run definitions"],
)
def list_versions(request: HttpRequest, code: str):
    require_view_permission(request, RunDefinition)
    versions = list(definitions().filter(unified_code=code).order_by("-version"))
    if not versions:
        definition_version(code)  # raises the 404 naming the code
    return versions


@router.patch(
    "/run-definitions/{code}",
    response={200: DefinitionOut, **REFUSALS},
    summary="Change a run definition; answers the resulting version",
    tags=["run definitions"],
)
def edit_definition(request: HttpRequest, code: str, payload: DefinitionPatch):
    changes = payload.model_dump(exclude_unset=True)
    definition = actions.edit_definition(user=request.auth, unified_code=code, **changes)
    return definition_version(code, definition.version)


# Scheduled tasks ------------------------------------------------------------------------------


class TaskStatus(models.TextChoices):
    """What the scheduled task filter shows (the manual's "Scheduled task filter")."""

    SCHEDULED = "scheduled", gettext_lazy("Scheduled")  # waiting for its next firing
    RUNNING = "running", gettext_lazy("Running")  # one of its runs is draft or in progress
    # no firing left and no run going on
    COMPLETED = "completed", pgettext_lazy("scheduled task state", "Completed")
    DELETED = "deleted", gettext_lazy("Deleted")  # unscheduled by an operator


class TaskOut(Schema):
    id: int
    status: TaskStatus
    definition: str = Field(description="Unified code of the definition.")
    version: int
    name: str
    process: str
    schedule: dict[str, Any]
    submitted_at: datetime
    next_fire_at: datetime | None
    misfire_policy: MisfirePolicy
    server: str
    requested_by: str | None
    fired_count: int
    last_fired_at: datetime | None
    active_run: int | None = Field(description="Number of its run going on, if any.")

    @staticmethod
    def resolve_status(task: ScheduledTask) -> str:
        return task_status(task)

    @staticmethod
    def resolve_definition(task: ScheduledTask) -> str:
        return task.definition.unified_code

    @staticmethod
    def resolve_version(task: ScheduledTask) -> int:
        return task.definition.version

    @staticmethod
    def resolve_name(task: ScheduledTask) -> str:
        return task.definition.name

    @staticmethod
    def resolve_process(task: ScheduledTask) -> str:
        return task.definition.process_key

    @staticmethod
    def resolve_submitted_at(task: ScheduledTask) -> datetime:
        return task.anchor

    @staticmethod
    def resolve_server(task: ScheduledTask) -> str:
        return task.server.name

    @staticmethod
    def resolve_requested_by(task: ScheduledTask) -> str | None:
        return _username(task.requested_by)


def tasks() -> models.QuerySet[ScheduledTask]:
    """Scheduled tasks annotated with their run going on (``active_run``)."""
    active = (
        ProcessRun.objects.filter(task=OuterRef("pk"), state__in=RunState.active())
        .order_by("pk")
        .values("pk")[:1]
    )
    return ScheduledTask.objects.select_related("definition", "server", "requested_by").annotate(
        active_run=Subquery(active)
    )


def task_status(task: ScheduledTask) -> str:
    if task.state == TaskState.DELETED:
        return TaskStatus.DELETED
    if task.active_run is not None:
        return TaskStatus.RUNNING
    return task.state


def task_status_filter(status: str | None) -> Q:
    """The tasks showing ``status`` (see ``TaskStatus``); on a ``tasks()`` queryset."""
    if status is None:
        return Q()
    if status == TaskStatus.DELETED:
        return Q(state=TaskState.DELETED)
    if status == TaskStatus.RUNNING:
        return ~Q(state=TaskState.DELETED) & Q(active_run__isnull=False)
    return Q(state=status, active_run__isnull=True)


class TaskFilter(FilterSchema):
    state: TaskStatus | None = Field(None, description="scheduled | running | completed | deleted")
    process: Annotated[str | None, FilterLookup("definition__process_key")] = None
    definition: Annotated[str | None, FilterLookup("definition__unified_code")] = Field(
        None, description="Unified code of the definition."
    )

    def filter_state(self, value: str | None) -> Q:
        return task_status_filter(value)


@router.get(
    "/scheduled-tasks",
    response={200: list[TaskOut], **REFUSALS},
    summary="List scheduled tasks",
    tags=["scheduled tasks"],
)
@paginate(Pagination)
def list_tasks(request: HttpRequest, filters: Query[TaskFilter]):
    require_view_permission(request, ScheduledTask)
    return filters.filter(tasks()).order_by("-pk")


def get_task_or_404(task_id: int) -> ScheduledTask:
    task = tasks().filter(pk=task_id).first()
    if task is None:
        raise ObjectDoesNotExist(_("There is no scheduled task #%(id)s.") % {"id": task_id})
    return task


@router.get(
    "/scheduled-tasks/{task_id}",
    response={200: TaskOut, **REFUSALS},
    summary="Get a scheduled task",
    tags=["scheduled tasks"],
)
def get_task(request: HttpRequest, task_id: int):
    require_view_permission(request, ScheduledTask)
    return get_task_or_404(task_id)


@router.delete(
    "/scheduled-tasks/{task_id}",
    response={200: TaskOut, **REFUSALS},
    summary="Delete (unschedule) a scheduled task",
    tags=["scheduled tasks"],
)
def delete_task(request: HttpRequest, task_id: int):
    """Nothing more fires from the task and its runs not started yet are dropped; a run in
    progress goes on (stop it with POST /runs/{number}/stop)."""
    actions.delete_task(user=request.auth, task_id=task_id)
    return get_task_or_404(task_id)


class SubmitIn(Schema):
    password: str | None = Field(
        None, description="The caller's password, for processes that ask for it again."
    )


def _password(request: HttpRequest) -> str | None:
    """The optional ``password`` of a JSON body (an empty body is no password): read by hand
    because Ninja refuses an empty body for a declared body parameter."""
    if request.content_type != "application/json" or not request.body.strip():
        return None
    try:
        return SubmitIn.model_validate_json(request.body).password
    except ValueError:
        message = _('The body must be JSON: {"password": "..."}.')
        raise ValidationError({"password": message}) from None


@router.post(
    "/run-definitions/{code}/submit",
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": SubmitIn.model_json_schema()}},
        }
    },
    response={201: TaskOut, **REFUSALS},
    summary="Submit a run definition to the scheduler",
    tags=["run definitions"],
)
def submit_definition(request: HttpRequest, code: str, version: int | None = None):
    """Creates the scheduled task; its first firing is the schedule's first from now. Only
    effective definitions can be submitted (422 on ``life_cycle`` otherwise). A process that
    asks for the password again (archiving) takes it in an optional JSON body:
    ``{"password": "..."}``."""
    task = actions.submit_definition(
        user=request.auth, unified_code=code, version=version, password=_password(request)
    )
    return Status(201, tasks().get(pk=task.pk))


# Process runs ---------------------------------------------------------------------------------


class RunOut(Schema):
    """The run summary of DESIGN.md §6, with who asked for it and why it is where it is."""

    number: int
    process: str
    definition: str = Field(description="Unified code of the definition.")
    version: int
    name: str
    state: RunState
    total: int | None
    processed: int
    succeeded: int
    failed: int
    progress: int = Field(description="Percentage of the records processed.")
    server: str
    task: int | None
    requested_by: str | None
    scheduled_for: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    stop_requested: bool
    records_left: bool = Field(description="Ended at its throttling cap with records left.")
    message: str
    created_at: datetime

    @staticmethod
    def resolve_process(run: ProcessRun) -> str:
        return run.process_key

    @staticmethod
    def resolve_definition(run: ProcessRun) -> str:
        return run.definition.unified_code

    @staticmethod
    def resolve_version(run: ProcessRun) -> int:
        return run.definition.version

    @staticmethod
    def resolve_name(run: ProcessRun) -> str:
        return run.definition.name

    @staticmethod
    def resolve_server(run: ProcessRun) -> str:
        return run.server.name

    @staticmethod
    def resolve_task(run: ProcessRun) -> int | None:
        return run.task_id

    @staticmethod
    def resolve_requested_by(run: ProcessRun) -> str | None:
        return _username(run.requested_by)


class RunFilter(FilterSchema):
    process: Annotated[str | None, FilterLookup("process_key")] = None
    state: Annotated[RunState | None, FilterLookup("state")] = None
    server: Annotated[str | None, FilterLookup("server__name")] = Field(
        None, description="Application server name."
    )
    definition: Annotated[str | None, FilterLookup("definition__unified_code")] = Field(
        None, description="Unified code of the definition."
    )
    task: Annotated[int | None, FilterLookup("task_id")] = None
    created_from: Annotated[date | None, FilterLookup("created_at__date__gte")] = Field(
        None, description="Created on or after this day."
    )
    created_to: Annotated[date | None, FilterLookup("created_at__date__lte")] = Field(
        None, description="Created on or before this day."
    )


def runs() -> models.QuerySet[ProcessRun]:
    return ProcessRun.objects.select_related("definition", "server", "requested_by")


def get_run_or_404(number: int) -> ProcessRun:
    run = runs().filter(pk=number).first()
    if run is None:
        raise ObjectDoesNotExist(_("There is no process run #%(number)s.") % {"number": number})
    return run


@router.get(
    "/runs",
    response={200: list[RunOut], **REFUSALS},
    summary="List process runs, newest first",
    tags=["runs"],
)
@paginate(Pagination)
def list_runs(request: HttpRequest, filters: Query[RunFilter]):
    require_view_permission(request, ProcessRun)
    return filters.filter(runs()).order_by("-pk")


@router.get(
    "/runs/{number}", response={200: RunOut, **REFUSALS}, summary="Get a run", tags=["runs"]
)
def get_run(request: HttpRequest, number: int):
    require_view_permission(request, ProcessRun)
    return get_run_or_404(number)


class Outcome(models.TextChoices):
    SUCCESS = "success", gettext_lazy("Success")
    ERROR = "error", gettext_lazy("Error")


class RunItemOut(Schema):
    record_id: int
    outcome: Outcome
    message: str

    @staticmethod
    def resolve_outcome(item: RunItem) -> str:
        return Outcome.SUCCESS if item.ok else Outcome.ERROR


def run_items(run: ProcessRun, outcome: str | None = None) -> models.QuerySet[RunItem]:
    items = RunItem.objects.filter(run=run).order_by("pk")
    if outcome is not None:
        items = items.filter(ok=outcome == Outcome.SUCCESS)
    return items


@router.get(
    "/runs/{number}/items",
    response={200: list[RunItemOut], **REFUSALS},
    summary="List the per-record outcomes of a run",
    tags=["runs"],
)
@paginate(Pagination)
def list_run_items(request: HttpRequest, number: int, outcome: Outcome | None = None):
    """With log level "errors only" the successes are counted on the run, not listed here."""
    require_view_permission(request, RunItem)
    return run_items(get_run_or_404(number), outcome)


@router.post(
    "/runs/{number}/stop",
    response={200: RunOut, **REFUSALS},
    summary="Stop a run",
    tags=["runs"],
)
def stop_run(request: HttpRequest, number: int):
    """A run not started yet ends stopped at once; a running one rolls back its batch in
    flight and ends stopped, keeping the records already processed. 409 if it has ended."""
    actions.stop_run(user=request.auth, number=number)
    return get_run_or_404(number)


@router.delete(
    "/runs/{number}",
    response={204: None, **REFUSALS},
    summary="Delete a run not started yet",
    tags=["runs"],
)
def delete_run(request: HttpRequest, number: int):
    """Only a draft run can be deleted (409 otherwise: stop a started run instead)."""
    actions.delete_run(user=request.auth, number=number)
    return Status(204, None)


# Scheduler and automatic agenda ---------------------------------------------------------------


class WorkerOut(Schema):
    worker_id: str
    server: str
    hostname: str
    pid: int
    started_at: datetime
    last_seen: datetime

    @staticmethod
    def resolve_server(worker: Worker) -> str:
        return worker.server.name


class SchedulerOut(Schema):
    state: str = Field(description="running | standby")
    changed_at: datetime
    changed_by: str | None
    last_tick_at: datetime | None = Field(description="Heartbeat of the scheduler loop.")
    scheduled_tasks: int
    due_now: int
    workers: list[WorkerOut]


def scheduler_status() -> dict[str, Any]:
    state = SchedulerState.get()
    scheduled = ScheduledTask.objects.filter(state=TaskState.SCHEDULED)
    return {
        "state": "running" if state.running else "standby",
        "changed_at": state.changed_at,
        "changed_by": _username(state.changed_by),
        "last_tick_at": state.last_tick_at,
        "scheduled_tasks": scheduled.count(),
        "due_now": scheduled.filter(next_fire_at__lte=timezone.now()).count(),
        "workers": list(Worker.objects.select_related("server")),
    }


@router.get(
    "/scheduler",
    response={200: SchedulerOut, **REFUSALS},
    summary="The scheduler's state and workers",
    tags=["scheduler"],
)
def get_scheduler(request: HttpRequest):
    require_view_permission(request, SchedulerState)
    return scheduler_status()


@router.post(
    "/scheduler/start",
    response={200: SchedulerOut, **REFUSALS},
    summary="Start the scheduler (Running)",
    tags=["scheduler"],
)
def start_scheduler(request: HttpRequest):
    actions.set_scheduler_state(user=request.auth, running=True)
    return scheduler_status()


@router.post(
    "/scheduler/standby",
    response={200: SchedulerOut, **REFUSALS},
    summary="Put the scheduler in Standby",
    tags=["scheduler"],
)
def standby_scheduler(request: HttpRequest):
    actions.set_scheduler_state(user=request.auth, running=False)
    return scheduler_status()


class AgendaOut(Schema):
    process: str
    schedule: dict[str, Any]
    source: Literal["set", "default"] = Field(
        description="“set” by an administrator, or the process's own “default”."
    )
    updated_at: datetime | None
    updated_by: str | None


def _agenda_out(entry: AgendaEntry) -> dict[str, Any]:
    return {
        "process": entry.process_key,
        "schedule": entry.schedule,
        "source": "set",
        "updated_at": entry.updated_at,
        "updated_by": _username(entry.updated_by),
    }


def _default_out(process) -> dict[str, Any]:
    return {
        "process": process.key,
        "schedule": process.default_agenda,
        "source": "default",
        "updated_at": None,
        "updated_by": None,
    }


class AgendaIn(Schema):
    schedule: dict[str, Any] = Field(description="Scheduling settings (as in a definition).")


def agenda_entry(process: str) -> AgendaEntry:
    entry = AgendaEntry.objects.select_related("updated_by").filter(process_key=process).first()
    if entry is None:
        raise ObjectDoesNotExist(
            _("There is no automatic agenda entry for process “%(process)s”.")
            % {"process": process}
        )
    return entry


@router.get(
    "/agenda",
    response={200: list[AgendaOut], **REFUSALS},
    summary="The automatic agenda: default schedules per process",
    tags=["scheduler"],
)
def list_agenda(request: HttpRequest):
    """Every process with a schedule on the automatic agenda: the entries administrators set,
    and the processes' own defaults where they set none."""
    require_view_permission(request, AgendaEntry)
    entries = {
        entry.process_key: _agenda_out(entry)
        for entry in AgendaEntry.objects.select_related("updated_by")
    }
    for process in all_processes():
        if process.key not in entries and process.default_agenda:
            entries[process.key] = _default_out(process)
    return [entries[key] for key in sorted(entries)]


@router.put(
    "/agenda/{process}",
    response={200: AgendaOut, **REFUSALS},
    summary="Set the automatic agenda's schedule for a process",
    tags=["scheduler"],
)
def set_agenda(request: HttpRequest, process: str, payload: AgendaIn):
    actions.set_agenda(user=request.auth, process_key=process, schedule=payload.schedule)
    return _agenda_out(agenda_entry(process))


@router.delete(
    "/agenda/{process}",
    response={204: None, **REFUSALS},
    summary="Remove a process from the automatic agenda",
    tags=["scheduler"],
)
def delete_agenda(request: HttpRequest, process: str):
    actions.require(request.auth, actions.CONTROL_SCHEDULER)
    agenda_entry(process)
    actions.set_agenda(user=request.auth, process_key=process, schedule=None)
    return Status(204, None)


# Daily log ------------------------------------------------------------------------------------


class LogEntryOut(Schema):
    id: int
    at: datetime
    level: LogEntry.Level
    source: LogEntry.Source
    message: str
    run: int | None
    task: int | None
    user: str | None

    @staticmethod
    def resolve_run(entry: LogEntry) -> int | None:
        return entry.run_id

    @staticmethod
    def resolve_task(entry: LogEntry) -> int | None:
        return entry.task_id

    @staticmethod
    def resolve_user(entry: LogEntry) -> str | None:
        return _username(entry.user)


class LogFilter(FilterSchema):
    day: date | None = Field(None, description="YYYY-MM-DD in the server's time zone (today).")
    source: Annotated[LogEntry.Source | None, FilterLookup("source")] = None
    level: Annotated[LogEntry.Level | None, FilterLookup("level")] = None
    run: Annotated[int | None, FilterLookup("run_id")] = None
    task: Annotated[int | None, FilterLookup("task_id")] = None

    def filter_day(self, value: date | None) -> Q:
        # A range on the indexed column rather than a __date transform that cannot use it.
        day = value or timezone.localdate()
        start = timezone.make_aware(datetime.combine(day, time.min))
        return Q(at__gte=start, at__lt=start + timedelta(days=1))


@router.get(
    "/daily-log",
    response={200: list[LogEntryOut], **REFUSALS},
    summary="The daily log of the scheduler, workers, runs and operators",
    tags=["scheduler"],
)
@paginate(Pagination)
def daily_log(request: HttpRequest, filters: Query[LogFilter]):
    require_view_permission(request, LogEntry)
    return filters.filter(LogEntry.objects.select_related("user")).order_by("-at", "-pk")


# Schedule preview -----------------------------------------------------------------------------


class PreviewIn(Schema):
    schedule: dict[str, Any]
    n: int = Field(10, description=f"How many firings (1 to {MAX_PREVIEW}).")
    from_: datetime | None = Field(
        None, alias="from", description="Start after this instant (now); naive = schedule's zone."
    )


class PreviewOut(Schema):
    timezone: str
    firings: list[datetime]


@router.post(
    "/schedule/preview",
    response={200: PreviewOut, **REFUSALS},
    summary="The next firings of scheduling settings",
    tags=["run definitions"],
)
def preview_schedule(request: HttpRequest, payload: PreviewIn):
    require_view_permission(request, RunDefinition)
    if not 1 <= payload.n <= MAX_PREVIEW:
        raise ValidationError({"n": _("Ask for 1 to %(max)s firings.") % {"max": MAX_PREVIEW}})
    try:
        spec = parse_schedule(payload.schedule)
    except ScheduleError as exc:
        raise ValidationError({"schedule": str(exc)}) from None
    after = payload.from_ or timezone.now()
    if timezone.is_naive(after):
        after = after.replace(tzinfo=spec.zone)
    return {"timezone": spec.timezone, "firings": preview(spec, payload.n, after=after)}


__all__ = [
    "DefinitionOut",
    "RunItemOut",
    "RunOut",
    "TaskOut",
    "TaskStatus",
    "definition_version",
    "definitions",
    "router",
    "run_items",
    "runs",
    "task_status_filter",
    "tasks",
]
