"""Every operator's write on the engine: definitions and their versions, submission, deleting
tasks and runs, stopping runs, the scheduler's state and the automatic agenda.

Views, the API and the CLI parse their input, call one of these and render the result. Each
checks the permission, runs in one transaction, writes the daily log and raises
``ValidationError`` (keyed by field) or ``PermissionDenied`` with an operator-facing message.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pydantic
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from nightshift.core.audit import acting_as
from nightshift.processes.base import ParameterError
from nightshift.processes.registry import get_process
from nightshift.runs.models import (
    AgendaEntry,
    ApplicationServer,
    LifeCycle,
    LogEntry,
    LogLevel,
    MisfirePolicy,
    ProcessRun,
    RunDefinition,
    RunState,
    ScheduledTask,
    SchedulerState,
    TaskState,
)
from nightshift.scheduling.specs import ScheduleError, Unit, firings, parse_schedule
from nightshift.scheduling.validation import describe_error

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser

OPERATE = "core.operate_runs"
CONTROL_SCHEDULER = "core.control_scheduler"
# The modes that repeat: the only ones throttling applies to, as the manual says.
REPEATING_MODES = {"repeat", "advanced", "cron", "rrule"}
EDITABLE_FIELDS = (
    "name",
    "alternative_code",
    "description",
    "life_cycle",
    "parameters",
    "schedule",
    "follow_agenda",
    "throttle",
    "server",
    "log_level",
    "notify_on_completion",
    "misfire_policy",
)


class Throttle(pydantic.BaseModel):
    """Throttling settings: at most ``max_records`` per run; a run that stops at the cap with
    records left is fired again ``restart_after`` later."""

    model_config = pydantic.ConfigDict(extra="forbid")

    class After(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="forbid")
        every: pydantic.PositiveInt
        unit: Unit

    max_records: pydantic.PositiveInt
    restart_after: After

    def delay(self) -> timedelta:
        from dateutil.relativedelta import relativedelta

        now = timezone.now()
        delta = relativedelta(**{self.restart_after.unit: self.restart_after.every})
        return (now + delta) - now


def require(user: AbstractUser, permission: str) -> None:
    if not user.has_perm(permission):
        raise PermissionDenied(
            _("You do not have the “%(permission)s” permission needed for this.")
            % {"permission": permission}
        )


def log(message: str, *, source: str, level: str = LogEntry.Level.INFO, **links: Any) -> None:
    LogEntry.objects.create(message=message, source=source, level=level, **links)


# ----------------------------------------------------------------------------- definitions


def _choice(errors: dict, field: str, value: Any, choices: type) -> Any:
    if value not in choices.values:
        allowed = ", ".join(choices.values)
        errors[field] = _("“%(value)s” is not one of: %(allowed)s.") % {
            "value": value,
            "allowed": allowed,
        }
    return value


def clean_definition(data: dict[str, Any]) -> dict[str, Any]:
    """Validate a definition's fields as the manual lists them and return them normalised.

    Raises ``ValidationError`` whose dict names every field at fault: ``name``, ``process``,
    ``parameters.<field>`` (the process's own rules), ``schedule``, ``throttle``, ``server``…
    """
    errors: dict[str, str] = {}
    cleaned = dict(data)
    cleaned["name"] = (data.get("name") or "").strip()
    if not cleaned["name"]:
        errors["name"] = _("The name is required.")
    _clean_parameters(cleaned, errors)
    for field, choices, default in (
        ("life_cycle", LifeCycle, LifeCycle.EFFECTIVE),
        ("log_level", LogLevel, LogLevel.ERRORS),
        ("misfire_policy", MisfirePolicy, MisfirePolicy.FIRE_ONCE),
    ):
        value = cleaned.setdefault(field, default)
        if value not in choices.values:
            errors[field] = _("“%(value)s” is not one of: %(allowed)s.") % {
                "value": value,
                "allowed": ", ".join(choices.values),
            }
    schedule = _clean_schedule(cleaned, errors)
    _clean_throttle(cleaned, schedule, errors)
    _clean_server(cleaned, errors)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_parameters(cleaned: dict, errors: dict) -> None:
    try:
        process = get_process(cleaned.get("process_key") or "")
    except LookupError:
        errors["process"] = _("Choose a process: “%(key)s” is not a known process.") % {
            "key": cleaned.get("process_key") or ""
        }
        return
    try:
        cleaned["parameters"] = process.validate_parameters(cleaned.get("parameters") or {})
    except ParameterError as exc:
        for field, message in exc.errors.items():
            errors["parameters" if field == "__all__" else f"parameters.{field}"] = message


NO_AGENDA = gettext_lazy(
    "There is no automatic agenda for this process; an administrator sets one first."
)


def _clean_schedule(cleaned: dict, errors: dict) -> dict:
    """Check the schedule the definition will fire on (its own, or the agenda's) and return
    it; the definition keeps its own schedule normalised."""
    cleaned["follow_agenda"] = bool(cleaned.get("follow_agenda"))
    schedule = cleaned.get("schedule") or {}
    if cleaned["follow_agenda"]:
        schedule = agenda_schedule(cleaned.get("process_key") or "")
        if schedule is None:
            errors["follow_agenda"] = NO_AGENDA
            return {}
    elif not schedule:
        errors["schedule"] = _("Choose the scheduling settings.")
        return {}
    try:
        spec = parse_schedule(schedule)
    except ScheduleError as exc:
        errors["schedule"] = str(exc)
        return {}
    if not cleaned["follow_agenda"]:
        cleaned["schedule"] = spec.model_dump(mode="json")
    return schedule


def _clean_throttle(cleaned: dict, schedule: dict, errors: dict) -> None:
    throttle = cleaned.get("throttle")
    if not throttle:
        cleaned["throttle"] = None
        return
    try:
        cleaned["throttle"] = Throttle.model_validate(throttle).model_dump(mode="json")
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        label = _throttle_label(where)
        errors["throttle"] = _("%(field)s: %(problem)s") % {
            "field": f"{where} ({label})" if label else where or _("throttling"),
            "problem": describe_error(first),
        }
        return
    if schedule and schedule.get("mode") not in REPEATING_MODES:
        errors["throttle"] = _(
            "Throttling applies to repeating schedules only; this one runs once."
        )


def _throttle_label(where: str) -> str:
    """The label the definition screen gives the throttling setting at ``where``."""
    labels = {
        "max_records": _("Maximum batch size"),
        "restart_after": _("Start again after"),
        "restart_after.every": _("Start again after"),
        "restart_after.unit": _("Unit"),
    }
    return str(labels.get(where, ""))


def _clean_server(cleaned: dict, errors: dict) -> None:
    server = cleaned.get("server")
    if isinstance(server, ApplicationServer):
        return
    if not server:
        cleaned["server"] = None
        return
    try:
        cleaned["server"] = ApplicationServer.objects.get(name=server)
    except ApplicationServer.DoesNotExist:
        errors["server"] = _("There is no application server named “%(name)s”.") % {"name": server}


def create_definition(*, user: AbstractUser, **data: Any) -> RunDefinition:
    """Create version 1 of a run definition; ``data`` holds the fields of the definition
    screen (``process_key``, ``name``, ``parameters``, ``schedule``, ``server`` by name…)."""
    require(user, OPERATE)
    cleaned = clean_definition(data)
    fields = {field: cleaned[field] for field in EDITABLE_FIELDS if field in cleaned}
    with acting_as(user), transaction.atomic():
        definition = RunDefinition.objects.create(
            process_key=cleaned["process_key"], unified_code=uuid.uuid4().hex[:20], **fields
        )
        definition.unified_code = f"RD{definition.pk:06d}"
        definition.save(update_fields=["unified_code"])
        log(
            _("%(user)s created run definition %(code)s “%(name)s”.")
            % {"user": user, "code": definition.unified_code, "name": definition.name},
            source=LogEntry.Source.OPERATOR,
            user=user,
        )
    return definition


def latest(unified_code: str) -> RunDefinition:
    try:
        return RunDefinition.objects.get(unified_code=unified_code, is_latest=True)
    except RunDefinition.DoesNotExist:
        raise ObjectDoesNotExist(
            _("There is no run definition with the code “%(code)s”.") % {"code": unified_code}
        ) from None


def edit_definition(*, user: AbstractUser, unified_code: str, **changes: Any) -> RunDefinition:
    """Change a definition. A version that has runs or scheduled tasks stays as it was and the
    change becomes version + 1 (everything else carried over); an unused one changes in place."""
    require(user, OPERATE)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({field: _("This field cannot be changed.") for field in unknown})
    with acting_as(user), transaction.atomic():
        current = latest(unified_code)
        current = RunDefinition.objects.select_for_update().get(pk=current.pk)
        data = {field: getattr(current, field) for field in EDITABLE_FIELDS}
        data["server"] = current.server.name if current.server else None
        data.update(changes)
        data["process_key"] = current.process_key
        cleaned = clean_definition(data)
        fields = {field: cleaned[field] for field in EDITABLE_FIELDS if field in cleaned}
        if current.is_used():
            current.is_latest = False
            current.save(update_fields=["is_latest"])
            definition = RunDefinition.objects.create(
                process_key=current.process_key,
                unified_code=current.unified_code,
                version=current.version + 1,
                **fields,
            )
        else:
            for field, value in fields.items():
                setattr(current, field, value)
            current.save()
            definition = current
        log(
            _("%(user)s changed run definition %(code)s (now version %(version)s).")
            % {"user": user, "code": unified_code, "version": definition.version},
            source=LogEntry.Source.OPERATOR,
            user=user,
        )
    return definition


def agenda_schedule(process_key: str) -> dict | None:
    """The automatic agenda's schedule for a process: the entry an administrator set, else the
    process's own ``default_agenda``; ``None`` when there is neither."""
    entry = AgendaEntry.objects.filter(process_key=process_key).values_list("schedule", flat=True)
    schedule = entry.first()
    if schedule is None:
        try:
            schedule = get_process(process_key).default_agenda
        except LookupError:
            return None
    return schedule


def effective_schedule(definition: RunDefinition) -> dict:
    if definition.follow_agenda:
        schedule = agenda_schedule(definition.process_key)
        if schedule is None:
            raise ValidationError(
                {"follow_agenda": _("The automatic agenda for this process was removed.")}
            )
        return schedule
    return definition.schedule


def first_firing(schedule: dict, anchor):
    """The first firing at or after ``anchor``; ``None`` when the schedule has none left."""
    spec = parse_schedule(schedule)
    return next(firings(spec, anchor=anchor, after=anchor - timedelta(microseconds=1)), None)


def submit_definition(
    *,
    user: AbstractUser,
    unified_code: str,
    version: int | None = None,
    password: str | None = None,
) -> ScheduledTask:
    """Hand a definition to the scheduler: a scheduled task whose first slot is the schedule's
    first firing from now. Only effective definitions can be submitted. A process may demand
    more (a permission, the user's ``password``): see ``Process.authorize_submission``."""
    require(user, OPERATE)
    process_key = (
        RunDefinition.objects.filter(unified_code=unified_code)
        .filter(**({"version": version} if version is not None else {"is_latest": True}))
        .values_list("process_key", flat=True)
        .first()
    )
    if process_key is not None:
        get_process(process_key).authorize_submission(user=user, password=password)
    with acting_as(user), transaction.atomic():
        definition = (
            latest(unified_code)
            if version is None
            else RunDefinition.objects.filter(unified_code=unified_code, version=version).first()
        )
        if definition is None:
            raise ObjectDoesNotExist(
                _("Run definition %(code)s has no version %(version)s.")
                % {"code": unified_code, "version": version}
            )
        if not definition.is_effective:
            raise ValidationError(
                {"life_cycle": _("Only effective run definitions can be submitted.")}
            )
        schedule = effective_schedule(definition)
        now = timezone.now()
        next_fire_at = first_firing(schedule, now)
        if next_fire_at is None:
            raise ValidationError(
                {"schedule": _("Every firing of this schedule is in the past; nothing would run.")}
            )
        task = ScheduledTask.objects.create(
            definition=definition,
            schedule=schedule,
            anchor=now,
            next_fire_at=next_fire_at,
            misfire_policy=definition.misfire_policy,
            server=definition.server or ApplicationServer.default(),
            requested_by=user,
        )
        log(
            _("%(user)s submitted %(code)s v%(version)s; first firing %(when)s.")
            % {
                "user": user,
                "code": definition.unified_code,
                "version": definition.version,
                "when": timezone.localtime(next_fire_at).isoformat(timespec="seconds"),
            },
            source=LogEntry.Source.OPERATOR,
            task=task,
            user=user,
        )
    return task


# ----------------------------------------------------------------------------- tasks and runs


def delete_task(*, user: AbstractUser, task_id: int) -> ScheduledTask:
    """Unschedule a task: nothing more fires from it. Runs it already started are kept (a
    running one is stopped with ``stop_run``)."""
    require(user, OPERATE)
    with acting_as(user), transaction.atomic():
        task = ScheduledTask.objects.select_for_update().filter(pk=task_id).first()
        if task is None or task.state == TaskState.DELETED:
            raise ObjectDoesNotExist(_("There is no scheduled task #%(id)s.") % {"id": task_id})
        task.state = TaskState.DELETED
        task.next_fire_at = None
        task.save(update_fields=["state", "next_fire_at"])
        # Runs it fired that no worker has started yet go with it.
        drafts = ProcessRun.objects.filter(task=task, state=RunState.DRAFT)
        dropped = drafts.count()
        drafts.delete()
        log(
            _("%(user)s deleted scheduled task #%(id)s (%(drafts)s runs not started dropped).")
            % {"user": user, "id": task_id, "drafts": dropped},
            source=LogEntry.Source.OPERATOR,
            task=task,
            user=user,
        )
    return task


def _run_for_update(number: int) -> ProcessRun:
    run = ProcessRun.objects.select_for_update().filter(pk=number).first()
    if run is None:
        raise ObjectDoesNotExist(_("There is no process run #%(number)s.") % {"number": number})
    return run


def delete_run(*, user: AbstractUser, number: int) -> None:
    """Delete a run that has not started yet (state draft)."""
    require(user, OPERATE)
    with acting_as(user), transaction.atomic():
        run = _run_for_update(number)
        if run.state != RunState.DRAFT:
            raise ValidationError(
                _("Run #%(number)s has already started (%(state)s); stop it instead.")
                % {"number": number, "state": run.get_state_display()}
            )
        log(
            _("%(user)s deleted run #%(number)s before it started.")
            % {"user": user, "number": number},
            source=LogEntry.Source.OPERATOR,
            task_id=run.task_id,
            user=user,
        )
        run.delete()


def stop_run(*, user: AbstractUser, number: int) -> ProcessRun:
    """Ask a run to stop. A run not started yet ends stopped at once; a running one rolls back
    the batch in flight and ends stopped, keeping the records already processed."""
    require(user, OPERATE)
    with acting_as(user), transaction.atomic():
        run = _run_for_update(number)
        if not run.is_active:
            raise ValidationError(
                _("Run #%(number)s has already ended (%(state)s).")
                % {"number": number, "state": run.get_state_display()}
            )
        run.stop_requested = True
        fields = ["stop_requested"]
        if run.state == RunState.DRAFT:
            run.state = RunState.STOPPED
            run.ended_at = timezone.now()
            fields += ["state", "ended_at"]
        run.save(update_fields=fields)
        log(
            _("%(user)s asked run #%(number)s to stop.") % {"user": user, "number": number},
            source=LogEntry.Source.OPERATOR,
            run=run,
            user=user,
        )
    return run


# ----------------------------------------------------------------------------- scheduler


def set_scheduler_state(*, user: AbstractUser, running: bool) -> SchedulerState:
    """Start the scheduler (Running) or put it in Standby, audited in the daily log."""
    require(user, CONTROL_SCHEDULER)
    with acting_as(user), transaction.atomic():
        state = SchedulerState.get()
        state = SchedulerState.objects.select_for_update().get(pk=state.pk)
        if state.running != running:
            state.running = running
            state.changed_at = timezone.now()
            state.changed_by = user
            state.save()
            log(
                (
                    _("%(user)s started the scheduler.")
                    if running
                    else _("%(user)s put the scheduler in standby.")
                )
                % {"user": user},
                source=LogEntry.Source.OPERATOR,
                user=user,
            )
    return state


def set_agenda(*, user: AbstractUser, process_key: str, schedule: dict | None) -> None:
    """Set (or with ``None`` remove) the automatic agenda's default schedule for a process.
    Definitions that follow the agenda use it the next time they are submitted."""
    require(user, CONTROL_SCHEDULER)
    try:
        get_process(process_key)
    except LookupError as exc:
        raise ValidationError({"process": str(exc)}) from None
    with acting_as(user), transaction.atomic():
        if schedule is None:
            AgendaEntry.objects.filter(process_key=process_key).delete()
            message = _("%(user)s removed the automatic agenda of %(process)s.")
        else:
            try:
                spec = parse_schedule(schedule)
            except ScheduleError as exc:
                raise ValidationError({"schedule": str(exc)}) from None
            AgendaEntry.objects.update_or_create(
                process_key=process_key, defaults={"schedule": spec.model_dump(mode="json")}
            )
            message = _("%(user)s set the automatic agenda of %(process)s.")
        log(
            message % {"user": user, "process": process_key},
            source=LogEntry.Source.OPERATOR,
            user=user,
        )
