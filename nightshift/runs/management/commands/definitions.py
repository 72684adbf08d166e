"""``nightshift definitions create|list|show|edit|submit``: run definitions from the command line.

``submit CODE --inline`` fires the task's first slot in this process and executes the run here
(no scheduler or worker needed), with a progress bar; ``--wait`` leaves both to the running
scheduler and workers and waits for the run to end. Both then print the run summary and exit
non-zero when the run failed or was stopped.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from nightshift.core.cli import (
    acting_user,
    add_json_option,
    add_password_option,
    add_user_option,
    operator_errors,
    read_password,
    write_fields,
    write_json,
    write_table,
)
from nightshift.core.cli import json_option as parse_json
from nightshift.processes.registry import get_process
from nightshift.runs import actions, engine
from nightshift.runs.api import DefinitionOut, TaskOut, definition_version, definitions, tasks
from nightshift.runs.models import (
    LifeCycle,
    LogLevel,
    MisfirePolicy,
    ProcessRun,
    RunState,
    ScheduledTask,
    SchedulerState,
    TaskState,
    Worker,
)
from nightshift.runs.scheduler import fire_task_now
from nightshift.runs.workers import new_worker_id, registered

# The option that sets each field, for error messages that say what to change.
OPTIONS = {
    "process": "--process",
    "name": "--name",
    "alternative_code": "--alternative-code",
    "description": "--description",
    "life_cycle": "--life-cycle",
    "parameters": "--params",
    "schedule": "--schedule",
    "follow_agenda": "--follow-agenda",
    "throttle": "--throttle",
    "server": "--server",
    "log_level": "--log",
    "notify_on_completion": "--notify",
    "misfire_policy": "--misfire",
}
DEFAULT_SCHEDULE = {"mode": "now"}
DEFAULT_TIMEOUT = 3600  # seconds --wait waits for a run before giving up
POLL_INTERVAL = 1.0  # seconds between two looks at the run while waiting
LIST_COLUMNS = ("code", "version", "name", "process", "life_cycle", "server", "scheduled_date")
FAILED_STATES = (RunState.FAILED, RunState.STOPPED)


class Command(BaseCommand):
    help = "Create, list, show, change and submit run definitions."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

        create = sub.add_parser("create", help="create version 1 of a run definition")
        create.add_argument("--process", required=True, metavar="KEY", help="process key")
        create.add_argument("--name", required=True)
        _definition_options(create, creating=True)
        add_user_option(create)
        add_json_option(create)

        listing = sub.add_parser("list", help="the latest version of every definition")
        listing.add_argument("--process", metavar="KEY", help="only this process")
        listing.add_argument("--life-cycle", choices=LifeCycle.values)
        listing.add_argument("--search", "-q", help="text in the code, name or alternative code")
        add_user_option(listing)
        add_json_option(listing)

        show = sub.add_parser("show", help="one definition: its latest version or --version N")
        show.add_argument("code", metavar="CODE", help="unified code, e.g. RD000001")
        show.add_argument("--version", type=int, metavar="N")
        add_user_option(show)
        add_json_option(show)

        edit = sub.add_parser(
            "edit", help="change a definition (a version already used becomes version + 1)"
        )
        edit.add_argument("code", metavar="CODE")
        edit.add_argument("--name")
        _definition_options(edit, creating=False)
        add_user_option(edit)
        add_json_option(edit)

        submit = sub.add_parser("submit", help="hand a definition to the scheduler")
        submit.add_argument("code", metavar="CODE")
        submit.add_argument("--version", type=int, metavar="N", help="an older version")
        how = submit.add_mutually_exclusive_group()
        how.add_argument(
            "--inline",
            action="store_true",
            help="run it now in this process (its first firing must be due now)",
        )
        how.add_argument(
            "--wait",
            action="store_true",
            help="wait until the scheduler and a worker have run it",
        )
        submit.add_argument(
            "--timeout",
            type=float,
            default=DEFAULT_TIMEOUT,
            metavar="SECONDS",
            help=f"give up waiting after this long (default {DEFAULT_TIMEOUT})",
        )
        submit.add_argument(
            "--batch-size", type=int, metavar="N", help="records per batch with --inline"
        )
        add_password_option(submit)
        add_user_option(submit)
        add_json_option(submit)

    def handle(self, *args: Any, verb: str, **options: Any) -> None:
        getattr(self, f"_{verb}")(options)

    # ----------------------------------------------------------------------------- verbs

    def _create(self, options: dict[str, Any]) -> None:
        user = acting_user(options["user"])
        data = _changes(options)
        data.setdefault("schedule", DEFAULT_SCHEDULE)
        with operator_errors(OPTIONS):
            definition = actions.create_definition(
                user=user, process_key=options["process"], **data
            )
        self._definition(definition_version(definition.unified_code), options, "Created")

    def _list(self, options: dict[str, Any]) -> None:
        _check_user(options)
        rows = definitions().filter(is_latest=True).order_by("-created_at", "-pk")
        if options["process"]:
            rows = rows.filter(process_key=options["process"])
        if options["life_cycle"]:
            rows = rows.filter(life_cycle=options["life_cycle"])
        if options["search"]:
            text = options["search"]
            rows = rows.filter(
                Q(unified_code__icontains=text)
                | Q(name__icontains=text)
                | Q(alternative_code__icontains=text)
            )
        found = [_dump(DefinitionOut, definition) for definition in rows]
        if options["json"]:
            write_json(self.stdout, found)
        elif not found:
            self.stdout.write("No run definitions.")
        else:
            write_table(self.stdout, found, LIST_COLUMNS)

    def _show(self, options: dict[str, Any]) -> None:
        _check_user(options)
        with operator_errors():
            definition = definition_version(options["code"], options["version"])
        versions = definition.versions().values_list("version", flat=True)
        self._definition(definition, options, versions=", ".join(map(str, versions)))

    def _edit(self, options: dict[str, Any]) -> None:
        user = acting_user(options["user"])
        changes = _changes(options)
        if not changes:
            raise CommandError("Nothing to change: give at least one option (see --help).")
        with operator_errors(OPTIONS):
            definition = actions.edit_definition(user=user, unified_code=options["code"], **changes)
        definition = definition_version(definition.unified_code, definition.version)
        self._definition(definition, options, f"Changed (now version {definition.version})")

    def _submit(self, options: dict[str, Any]) -> None:
        user = acting_user(options["user"])
        code, version = options["code"], options["version"]
        if options["inline"]:
            self._refuse_unless_due_now(code, version)
        password = options.get("password")
        if password is None and options.get("password_stdin") is not None:
            with operator_errors(OPTIONS):
                process = get_process(definition_version(code, version).process_key)
            if process.requires_password:
                password = read_password(options)
        with operator_errors(OPTIONS):
            task = actions.submit_definition(
                user=user, unified_code=code, version=version, password=password
            )
        task = tasks().get(pk=task.pk)
        if options["inline"]:
            run = self._inline(task, options)
        elif options["wait"]:
            run = self._wait(task, options)
        else:
            if options["json"]:
                write_json(self.stdout, _dump(TaskOut, task))
                return
            when = timezone.localtime(task.next_fire_at).isoformat(timespec="seconds")
            self.stdout.write(
                f"Submitted {task.definition.unified_code} v{task.definition.version} as "
                f"scheduled task #{task.pk}; first firing {when} on server {task.server.name}."
            )
            return
        self._summary(run, options)

    # ----------------------------------------------------------------------------- helpers

    def _definition(
        self, definition, options: dict[str, Any], verb: str = "", **text_only: Any
    ) -> None:
        data = _dump(DefinitionOut, definition)
        if options["json"]:
            write_json(self.stdout, data)
            return
        if verb:
            self.stdout.write(f"{verb} run definition {data['code']} “{data['name']}”.")
        write_fields(self.stdout, {**data, **text_only})

    def _refuse_unless_due_now(self, code: str, version: int | None) -> None:
        """``--inline`` runs a definition whose first firing is due at submission; say when a
        later one would fire instead of submitting it."""
        with operator_errors(OPTIONS):
            definition = definition_version(code, version)
            first = actions.first_firing(actions.effective_schedule(definition), timezone.now())
        if first is not None and first > timezone.now():
            when = timezone.localtime(first).isoformat(timespec="seconds")
            raise CommandError(
                f"{code} is scheduled to fire first at {when}, not now: --inline runs only a "
                "definition whose first firing is due at once (schedule mode “now”). Submit it "
                "without --inline for the scheduler to run it then, or with --wait."
            )

    def _inline(self, task: ScheduledTask, options: dict[str, Any]) -> ProcessRun:
        """Fire the task's due slot and execute the run in this process as a worker of the
        task's server. If a running scheduler fired it first, run that one; if a worker claimed
        it meanwhile, wait for it instead."""
        run = fire_task_now(task) or ProcessRun.objects.filter(task=task).order_by("pk").first()
        if run is None:
            raise CommandError(
                f"Scheduled task #{task.pk} has nothing due now; see `nightshift tasks list`."
            )
        with _progress(run) as show, registered(task.server, new_worker_id("inline:")) as wid:
            ended = engine.execute(
                run.pk, worker_id=wid, batch_size=options["batch_size"], progress=show
            )
            if ended is not None:
                show(ended)
        if ended is not None:
            return ended
        self.stderr.write(f"Run #{run.pk} is being executed by another worker; waiting for it.")
        return self._wait(task, options, run=run)

    def _wait(
        self, task: ScheduledTask, options: dict[str, Any], run: ProcessRun | None = None
    ) -> ProcessRun:
        """Poll until the task's first run has ended; the scheduler fires it, a worker runs it."""
        deadline = time.monotonic() + options["timeout"]
        self.stderr.write(self._waiting_for(task))
        with _progress(run) as show:
            while True:
                run = ProcessRun.objects.filter(task=task).order_by("pk").first()
                if run is not None:
                    show(run)
                    if run.state in RunState.ended():
                        return run
                else:
                    task.refresh_from_db(fields=["state"])
                    if task.state != TaskState.SCHEDULED:
                        raise CommandError(
                            f"Scheduled task #{task.pk} is {task.get_state_display().lower()} "
                            "and fired no run (see `nightshift tasks list` and the daily log)."
                        )
                if time.monotonic() >= deadline:
                    raise CommandError(_timed_out(task, run, options["timeout"]))
                time.sleep(POLL_INTERVAL)

    def _waiting_for(self, task: ScheduledTask) -> str:
        when = timezone.localtime(task.next_fire_at).isoformat(timespec="seconds")
        lines = [
            f"Waiting for scheduled task #{task.pk} (first firing {when}): the scheduler fires "
            f"it and a worker of application server “{task.server.name}” runs it "
            f"(`nightshift scheduler run`, `nightshift worker --server {task.server.name}`, "
            "or `nightshift serve`)."
        ]
        if not SchedulerState.get().running:
            lines.append(
                "The scheduler is in Standby: nothing fires until `nightshift scheduler start`."
            )
        if not Worker.objects.filter(server=task.server).exists():
            lines.append(f"No worker of “{task.server.name}” is registered right now.")
        return "\n".join(lines)

    def _summary(self, run: ProcessRun, options: dict[str, Any]) -> None:
        run = ProcessRun.objects.select_related("definition", "server").get(pk=run.pk)
        summary = run.summary()
        if options["json"]:
            write_json(self.stdout, summary)
        else:
            write_fields(self.stdout, summary)
        if run.state in FAILED_STATES:
            ended = f"Run #{run.pk} ended {run.get_state_display().lower()}."
            raise CommandError(f"{ended} {run.message}".strip(), returncode=1)


def _definition_options(parser: CommandParser, *, creating: bool) -> None:
    """The options that set a definition's fields; on ``edit`` only those given change."""
    parser.add_argument("--params", metavar="JSON", help="process parameters as a JSON object")
    parser.add_argument(
        "--schedule",
        metavar="JSON",
        help="scheduling settings as JSON" + (' (default {"mode": "now"})' if creating else ""),
    )
    parser.add_argument(
        "--throttle",
        metavar="JSON",
        help='{"max_records": N, "restart_after": {"every": N, "unit": U}}'
        + ("" if creating else "; null removes it"),
    )
    parser.add_argument(
        "--server",
        metavar="NAME",
        help="application server" + (" (default server)" if creating else "; '' for the default"),
    )
    parser.add_argument("--log", choices=LogLevel.values, help="log errors only, or all outcomes")
    parser.add_argument("--alternative-code")
    parser.add_argument("--description")
    parser.add_argument("--life-cycle", choices=LifeCycle.values)
    parser.add_argument(
        "--follow-agenda",
        action=argparse.BooleanOptionalAction,
        help="use the automatic agenda's schedule for the process",
    )
    parser.add_argument(
        "--notify",
        action=argparse.BooleanOptionalAction,
        help="e-mail the requester the summary when a run ends",
    )
    parser.add_argument("--misfire", choices=MisfirePolicy.values, help="missed firings")


def _changes(options: dict[str, Any]) -> dict[str, Any]:
    """The definition fields the options give (left-out options are not in the result)."""
    changes: dict[str, Any] = {}
    for option, field in (
        ("name", "name"),
        ("alternative_code", "alternative_code"),
        ("description", "description"),
        ("life_cycle", "life_cycle"),
        ("server", "server"),
        ("log", "log_level"),
        ("follow_agenda", "follow_agenda"),
        ("notify", "notify_on_completion"),
        ("misfire", "misfire_policy"),
    ):
        if options.get(option) is not None:
            changes[field] = options[option]
    for option, field in (
        ("params", "parameters"),
        ("schedule", "schedule"),
        ("throttle", "throttle"),
    ):
        if options.get(option) is not None:
            changes[field] = parse_json(options[option], f"--{option}")
    return changes


def _check_user(options: dict[str, Any]) -> None:
    """Reading needs no user, but a ``--user`` given must exist."""
    if options.get("user"):
        acting_user(options["user"])


def _dump(schema, instance) -> dict[str, Any]:
    return schema.from_orm(instance).model_dump(mode="json")


def _timed_out(task: ScheduledTask, run: ProcessRun | None, timeout: float) -> str:
    if run is None:
        state = "it has not fired yet"
        if not SchedulerState.get().running:
            state += " (the scheduler is in Standby)"
        follow = "`nightshift tasks list`"
    else:
        state = f"run #{run.pk} is {run.get_state_display().lower()}"
        if run.state == RunState.DRAFT:
            state += f" (no worker of “{run.server.name}” has picked it up)"
        follow = f"`nightshift runs show {run.pk}`"
    return (
        f"Gave up waiting after {timeout:g} seconds for scheduled task #{task.pk}: {state}. "
        f"It goes on without this command; follow it with {follow}."
    )


@contextmanager
def _progress(run: ProcessRun | None) -> Iterator[Callable[[ProcessRun], None]]:
    """A rich progress bar on stderr, fed by the engine's ``progress`` callback."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
    bar_task = bar.add_task(f"run #{run.pk}" if run else "waiting", total=None)

    def show(run: ProcessRun) -> None:
        bar.update(
            bar_task,
            description=f"run #{run.pk} {run.get_state_display().lower()}",
            total=run.total,
            completed=run.processed,
        )

    with bar:
        yield show
