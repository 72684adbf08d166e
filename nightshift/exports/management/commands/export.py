"""``nightshift export``: export an entity's records to a CSV or XLSX file.

``nightshift export ENTITY --format csv|xlsx -o FILE [--filter field=value ...] [--columns a,b]``
starts an export for now and, with ``-o``, writes its file: ``--inline`` (the default with
``-o``) executes the run in this process with a progress bar, no worker needed; ``--wait``
leaves it to the scheduler's workers and waits. Without ``-o`` and either option the export is
only started (or scheduled with ``--schedule``) and its run printed. ``--run NUMBER -o FILE``
downloads the file of an export already run; ``--list`` shows every entity with its columns
and filters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from nightshift.core.cli import (
    acting_user,
    add_json_option,
    add_user_option,
    operator_errors,
    write_fields,
    write_json,
)
from nightshift.core.cli import json_option as parse_json
from nightshift.exports import actions
from nightshift.exports.api import export_run, file_summary
from nightshift.exports.files import write_atomically
from nightshift.exports.models import FileType
from nightshift.exports.processes import iter_file
from nightshift.exports.registry import all_exporters
from nightshift.runs.api import tasks
from nightshift.runs.management.commands.definitions import DEFAULT_TIMEOUT, FAILED_STATES
from nightshift.runs.management.commands.definitions import Command as DefinitionsCommand
from nightshift.runs.models import LogLevel, ProcessRun

# The option that sets each parameter, for error messages that say what to change.
OPTIONS = {
    "entity": "ENTITY",
    "filters": "--filter",
    "columns": "--columns",
    "file_type": "--format",
    "export_directory": "--dir",
    "schedule": "--schedule",
    "name": "--name",
    "server": "--server",
}


class Command(BaseCommand):
    help = "Export an entity's records to a CSV or XLSX file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("entity", nargs="?", metavar="ENTITY", help="what to export")
        parser.add_argument(
            "--format", dest="file_type", choices=FileType.values, default=FileType.CSV
        )
        parser.add_argument("-o", "--output", metavar="FILE", help="write the file here")
        parser.add_argument(
            "--filter",
            dest="filters",
            action="append",
            default=[],
            metavar="FIELD=VALUE",
            help="e.g. status=active, created_at=2026-01-01..2026-03-31 (repeat for more)",
        )
        parser.add_argument("--columns", metavar="A,B", help="the columns, in order (default all)")
        parser.add_argument(
            "--dir", dest="export_directory", default="", help="also write into this export dir"
        )
        parser.add_argument("--name", default="", help="name of the export definition")
        parser.add_argument(
            "--schedule", metavar="JSON", help='scheduling settings (default {"mode": "now"})'
        )
        parser.add_argument("--log", choices=LogLevel.values, default=LogLevel.ERRORS)
        parser.add_argument("--server", metavar="NAME", help="application server")
        how = parser.add_mutually_exclusive_group()
        how.add_argument("--inline", action="store_true", help="run it in this process")
        how.add_argument("--wait", action="store_true", help="wait for a worker to run it")
        parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS")
        parser.add_argument("--batch-size", type=int, metavar="N", help="rows per batch inline")
        parser.add_argument("--run", type=int, metavar="NUMBER", help="the file of this run")
        parser.add_argument("--list", action="store_true", help="entities, columns and filters")
        add_user_option(parser)
        add_json_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            return self._list(options)
        if options["run"] is not None:
            return self._download(options)
        if not options["entity"]:
            known = ", ".join(exporter.key for exporter in all_exporters())
            raise CommandError(f"Name the ENTITY to export: one of {known} (see --list).")
        return self._export(options)

    def _list(self, options: dict[str, Any]) -> None:
        described = [exporter.describe() for exporter in all_exporters()]
        if options["json"]:
            write_json(self.stdout, described)
            return
        for exporter in described:
            self.stdout.write(f"{exporter['key']}: {exporter['name']}")
            columns = ", ".join(column["name"] for column in exporter["columns"])
            self.stdout.write(f"  columns: {columns}")
            for flt in exporter["filters"]:
                self.stdout.write(f"  --filter {flt['name']}=…  {flt['help']}")

    def _download(self, options: dict[str, Any]) -> None:
        user = acting_user(options["user"])
        if not options["output"]:
            raise CommandError("Give -o FILE to write the file of the run to.")
        with operator_errors():
            export = actions.export_file(user=user, number=options["run"])
        self._write(export, options["output"])
        self._summary(export_run(options["run"]), options)

    def _export(self, options: dict[str, Any]) -> None:
        user = acting_user(options["user"])
        columns = [c.strip() for c in (options["columns"] or "").split(",") if c.strip()]
        schedule = parse_json(options["schedule"], "--schedule")
        if options["output"] and not options["wait"]:
            options["inline"] = True  # -o wants the file now: run it here unless told to wait
        try:
            with operator_errors():
                started = actions.start_export(
                    user=user,
                    entity=options["entity"],
                    file_type=options["file_type"],
                    filters=_filters(options["filters"]),
                    columns=columns,
                    export_directory=options["export_directory"],
                    name=options["name"],
                    schedule=schedule,
                    log_level=options["log"],
                    server=options["server"],
                )
        except CommandError as exc:
            raise CommandError(_with_options(str(exc))) from None
        task = tasks().get(pk=started.task.pk)
        helper = DefinitionsCommand(stdout=self.stdout, stderr=self.stderr)
        if options["inline"]:
            run = helper._inline(task, options)
        elif options["wait"]:
            run = helper._wait(task, options)
        elif started.run is not None:
            run = started.run
        else:
            self.stdout.write(
                f"Scheduled export {task.definition.unified_code} as task #{task.pk}; "
                f"first firing {task.next_fire_at.isoformat(timespec='seconds')}."
            )
            return
        run = export_run(run.pk)
        if run.state not in FAILED_STATES and options["output"]:
            with operator_errors():
                export = actions.export_file(user=user, number=run.pk)
            self._write(export, options["output"])
        self._summary(run, options)

    def _write(self, export, output: str) -> None:
        path = Path(output)
        try:
            write_atomically(path, iter_file(export))
        except OSError as exc:
            raise CommandError(f"Could not write {path} (-o): {exc}") from None

    def _summary(self, run: ProcessRun, options: dict[str, Any]) -> None:
        summary = {
            **run.summary(),
            "entity": run.definition.parameters.get("entity"),
            "file": file_summary(run),
            "output": str(Path(options["output"]).resolve()) if options["output"] else None,
        }
        if options["json"]:
            write_json(self.stdout, summary)
        else:
            write_fields(self.stdout, summary)
        if run.state in FAILED_STATES:
            ended = f"Run #{run.pk} ended {run.get_state_display().lower()}."
            raise CommandError(f"{ended} {run.message}".strip(), returncode=1)


def _filters(pairs: list[str]) -> dict[str, Any]:
    """``FIELD=VALUE`` options as the filters object; a name given twice keeps both values
    (``status=active --filter status=inactive`` selects either)."""
    filters: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise CommandError(f"--filter {pair!r}: write it as FIELD=VALUE, e.g. status=active.")
        name = name.strip()
        filters[name] = f"{filters[name]},{value}" if name in filters else value
    return filters


def _with_options(message: str) -> str:
    """The actions' field paths (``parameters.filters.status``) as the operator wrote them."""
    lines = []
    for line in message.splitlines():
        field, sep, text = line.partition(": ")
        name = field.removeprefix("parameters.").split(" ", 1)[0]
        option = OPTIONS.get(name.split(".", 1)[0])
        lines.append(f"{name} ({option}): {text}" if sep and option else line)
    return "\n".join(lines)
