"""``nightshift agenda_defaults``: put the default cadence of the processes that declare one
(``default_agenda``, e.g. the account routines) on the automatic agenda.

Only processes without an agenda entry get one, so an administrator's choice is never
overwritten (``--replace`` overwrites). Each entry is set through ``runs.actions.set_agenda``:
the permission to control the scheduler is checked and the daily log says who set it.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from nightshift.core.cli import (
    acting_user,
    add_json_option,
    add_user_option,
    operator_errors,
    write_json,
    write_table,
)
from nightshift.processes.registry import all_processes
from nightshift.runs import actions
from nightshift.runs.models import AgendaEntry


def default_agendas() -> dict[str, dict]:
    """Process key → default scheduling settings, for every process that declares one."""
    return {
        process.key: process.default_agenda
        for process in all_processes()
        if getattr(process, "default_agenda", None)
    }


class Command(BaseCommand):
    help = "Set the automatic agenda's default schedule of each process that declares one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--replace", action="store_true", help="also overwrite the entries already set"
        )
        add_user_option(parser)
        add_json_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        user = acting_user(options["user"])
        existing = set(AgendaEntry.objects.values_list("process_key", flat=True))
        rows = []
        with operator_errors({"schedule": "default_agenda"}):
            for key, schedule in default_agendas().items():
                if key in existing and not options["replace"]:
                    rows.append({"process": key, "agenda": "kept"})
                    continue
                actions.set_agenda(user=user, process_key=key, schedule=schedule)
                rows.append({"process": key, "agenda": "set"})
        if options["json"]:
            write_json(self.stdout, rows)
        else:
            write_table(self.stdout, rows, ["process", "agenda"])
