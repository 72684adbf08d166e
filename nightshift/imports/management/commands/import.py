"""``nightshift import ENTITY FILE``: import a file into CRM records (DESIGN.md §6).

Without ``--map`` the mapping suggested from the file's header is applied and printed;
``--map "Column=field"`` entries override single columns. The import is a run of the
``imports.file`` process: ``--inline`` executes it here with a progress bar, ``--wait`` waits
for the scheduler and a worker; both print the run summary (with created, updated, rejected
and the error file) and exit non-zero when it failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from nightshift.core.cli import (
    acting_user,
    add_json_option,
    add_user_option,
    operator_errors,
    write_json,
)
from nightshift.imports import actions
from nightshift.imports.registry import all_importers
from nightshift.runs.api import TaskOut
from nightshift.runs.management.commands.definitions import DEFAULT_TIMEOUT
from nightshift.runs.management.commands.definitions import Command as DefinitionsCommand
from nightshift.runs.models import LogLevel

OPTIONS = {
    "mapping": "--map",
    "settings": "--set",
    "sheet": "--sheet",
    "entity": "ENTITY",
    "file": "FILE",
    "upload": "FILE",
}


def _pair(value: str, option: str) -> tuple[str, str]:
    left, sep, right = value.partition("=")
    if not sep or not left.strip() or not right.strip():
        raise CommandError(f"{option} takes LEFT=RIGHT, not “{value}”.")
    return left.strip(), right.strip()


class Command(DefinitionsCommand):
    help = "Import a .csv, .xlsx, .xls or .ods file into CRM records."

    def add_arguments(self, parser: CommandParser) -> None:
        entities = ", ".join(importer.key for importer in all_importers())
        parser.add_argument("entity", metavar="ENTITY", help=f"one of: {entities}")
        parser.add_argument("file", metavar="FILE", type=Path)
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar='"Column=field"',
            help="read FIELD from COLUMN (repeatable); other columns keep the suggestion",
        )
        parser.add_argument(
            "--no-header", action="store_true", help="the first row is data, not a header"
        )
        parser.add_argument(
            "--update-existing", action="store_true", help="update records whose code exists"
        )
        parser.add_argument(
            "--create-missing",
            action="store_true",
            help="create missing classifications, warehouses, product families …",
        )
        parser.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="field=value",
            help="a fixed value overriding the file (input settings; repeatable)",
        )
        parser.add_argument("--sheet", default="", help="the sheet to read (default: the first)")
        parser.add_argument(
            "--month-first", action="store_true", help="03/04/2026 is 4 March (default 3 April)"
        )
        parser.add_argument("--log", choices=LogLevel.values, default=LogLevel.ERRORS)
        parser.add_argument("--name", default="", help="name of the import's run definition")
        how = parser.add_mutually_exclusive_group()
        how.add_argument("--inline", action="store_true", help="run the import in this process")
        how.add_argument("--wait", action="store_true", help="wait for a worker to run it")
        parser.add_argument(
            "--timeout",
            type=float,
            default=DEFAULT_TIMEOUT,
            metavar="SECONDS",
            help="give up waiting after this long",
        )
        parser.add_argument("--batch-size", type=int, metavar="N", help="rows per batch")
        add_user_option(parser)
        add_json_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        user = acting_user(options["user"])
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"There is no file {path}.")
        header = not options["no_header"]
        with operator_errors(OPTIONS), path.open("rb") as stream:
            upload = actions.upload_file(
                user=user,
                stream=stream,
                name=path.name,
                entity=options["entity"],
                sheet=options["sheet"],
            )
            described = actions.describe_upload(
                upload_id=upload.pk,
                entity=options["entity"],
                header=header,
                sheet=options["sheet"],
            )
        mapping = self._mapping(described, options["map"])
        settings = dict(_pair(value, "--set") for value in options["set"])
        with operator_errors(OPTIONS):
            task = actions.start_import(
                user=user,
                entity=options["entity"],
                upload_id=upload.pk,
                name=options["name"],
                log_level=options["log"],
                mapping=mapping if not described["problem"] else None,
                header=header,
                update_existing=options["update_existing"],
                create_missing=options["create_missing"],
                settings=settings,
                sheet=options["sheet"],
                day_first=not options["month_first"],
            )
        if options["inline"]:
            run = self._inline(task, options)
        elif options["wait"]:
            run = self._wait(task, options)
        else:
            if options["json"]:
                write_json(
                    self.stdout,
                    {**TaskOut.from_orm(task).model_dump(mode="json"), "mapping": mapping},
                )
                return
            self.stdout.write(
                f"Submitted the import as scheduled task #{task.pk} "
                f"(definition {task.definition.unified_code}); follow it with "
                "`nightshift runs list --process imports.file`."
            )
            return
        self._summary(run, options)

    def _mapping(self, described: dict[str, Any], overrides: list[str]) -> dict[str, str]:
        """The suggested mapping with the ``--map`` entries applied; printed unless --json."""
        columns = described["columns"]
        mapping = dict(described["mapping"])
        for entry in overrides:
            column, field = _pair(entry, "--map")
            if columns and column not in columns:
                raise CommandError(
                    f"--map {entry}: the file has no column “{column}”; its columns are: "
                    + ", ".join(f"“{c}”" for c in columns)
                )
            mapping = {f: c for f, c in mapping.items() if f != field and c != column}
            mapping[field] = column
        if described["problem"]:
            self.stderr.write(f"{described['name']}: {described['problem']}")
        elif not self._json:
            self.stdout.write("Mapping (column → field):")
            for field, column in mapping.items():
                self.stdout.write(f"  {column} → {field}")
            unmapped = [c for c in columns if c not in mapping.values()]
            if unmapped:
                self.stdout.write("Not imported: " + ", ".join(unmapped))
        return mapping

    def execute(self, *args: Any, **options: Any) -> Any:
        self._json = options.get("json", False)
        return super().execute(*args, **options)
