"""Every write of the exports area: starting an export (a run definition of the export process,
submitted to the scheduler) and handing out a finished file.

An export is a run definition like any other, so it is versioned, scheduled (now, once at a
date, repeatedly), throttled and shown on the Batch Process Admin Board by the engine; these
actions only fill in its process and parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from nightshift.exports.models import ExportFile
from nightshift.exports.processes import EXPORT_PROCESS
from nightshift.exports.registry import get_exporter
from nightshift.runs import actions as run_actions
from nightshift.runs.models import LogLevel, ProcessRun, ScheduledTask
from nightshift.runs.scheduler import fire_task_now

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser

__all__ = ["StartedExport", "export_file", "start_export"]

VIEW_RUNS = "runs.view_processrun"
NOW = {"mode": "now"}


@dataclass
class StartedExport:
    task: ScheduledTask
    run: ProcessRun | None  # the run, when the export was started for now


def start_export(
    *,
    user: AbstractUser,
    entity: str,
    file_type: str = "csv",
    filters: dict[str, Any] | None = None,
    columns: list[str] | None = None,
    export_directory: str = "",
    name: str = "",
    schedule: dict[str, Any] | None = None,
    log_level: str = LogLevel.ERRORS,
    notify_on_completion: bool = False,
    server: str | None = None,
) -> StartedExport:
    """Create an export definition and submit it; one started for now is fired at once, so its
    run is on the board (and queued for a worker) when this returns.

    Raises ``ValidationError`` keyed by field (``parameters.filters.status``,
    ``parameters.columns``, ``schedule``…) or ``PermissionDenied``.
    """
    schedule = schedule or NOW
    try:
        default_name = _("Export of %(entity)s") % {"entity": get_exporter(entity).name}
    except LookupError:
        default_name = _("Export")  # the parameters' validation names the entity at fault
    parameters = {
        "entity": entity,
        "file_type": file_type,
        "filters": filters or {},
        "columns": columns or [],
        "export_directory": export_directory,
    }
    with transaction.atomic():
        definition = run_actions.create_definition(
            user=user,
            process_key=EXPORT_PROCESS,
            name=name or default_name,
            parameters=parameters,
            schedule=schedule,
            log_level=log_level,
            notify_on_completion=notify_on_completion,
            server=server,
        )
        task = run_actions.submit_definition(user=user, unified_code=definition.unified_code)
    run = fire_task_now(task) if schedule.get("mode") == "now" else None
    return StartedExport(task=task, run=run)


def export_file(*, user: AbstractUser, number: int) -> ExportFile:
    """The finished file of export run ``number``, for a user who may see runs."""
    if not user.has_perm(VIEW_RUNS):
        raise PermissionDenied(
            _("You do not have the “%(permission)s” permission needed for this.")
            % {"permission": VIEW_RUNS}
        )
    export = ExportFile.objects.select_related("run").filter(run_id=number).first()
    if export is None:
        run = ProcessRun.objects.filter(pk=number, process_key=EXPORT_PROCESS).first()
        if run is None:
            raise ObjectDoesNotExist(_("There is no export run #%(number)s.") % {"number": number})
        raise ObjectDoesNotExist(
            _("Export run #%(number)s has no file yet (it is %(state)s).")
            % {"number": number, "state": run.get_state_display().lower()}
        )
    return export
