"""``nightshift tasks list|delete``: the scheduler's scheduled tasks."""

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
from nightshift.runs import actions
from nightshift.runs.api import TaskOut, TaskStatus, task_status_filter, tasks

COLUMNS = (
    "id",
    "status",
    "definition",
    "version",
    "name",
    "server",
    "next_fire_at",
    "fired_count",
    "active_run",
)


class Command(BaseCommand):
    help = "List the scheduled tasks, or delete (unschedule) one."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
        listing = sub.add_parser("list", help="scheduled tasks, newest first")
        listing.add_argument(
            "--filter",
            dest="status",
            choices=TaskStatus.values,
            help="scheduled (waiting to fire), running (a run going on), completed, deleted",
        )
        listing.add_argument("--process", metavar="KEY", help="only this process")
        listing.add_argument("--definition", metavar="CODE", help="only this definition")
        add_user_option(listing)
        add_json_option(listing)

        delete = sub.add_parser(
            "delete", help="unschedule a task; its runs not started yet are dropped"
        )
        delete.add_argument("id", type=int, metavar="ID")
        add_user_option(delete)
        add_json_option(delete)

    def handle(self, *args: Any, verb: str, **options: Any) -> None:
        getattr(self, f"_{verb}")(options)

    def _list(self, options: dict[str, Any]) -> None:
        if options["user"]:
            acting_user(options["user"])
        rows = tasks().filter(task_status_filter(options["status"])).order_by("-pk")
        if options["process"]:
            rows = rows.filter(definition__process_key=options["process"])
        if options["definition"]:
            rows = rows.filter(definition__unified_code=options["definition"])
        found = [TaskOut.from_orm(task).model_dump(mode="json") for task in rows]
        if options["json"]:
            write_json(self.stdout, found)
        elif not found:
            self.stdout.write("No scheduled tasks.")
        else:
            write_table(self.stdout, found, COLUMNS)

    def _delete(self, options: dict[str, Any]) -> None:
        user = acting_user(options["user"])
        with operator_errors():
            actions.delete_task(user=user, task_id=options["id"])
        task = TaskOut.from_orm(tasks().get(pk=options["id"])).model_dump(mode="json")
        if options["json"]:
            write_json(self.stdout, task)
            return
        self.stdout.write(
            f"Deleted scheduled task #{task['id']} ({task['definition']} v{task['version']} "
            f"“{task['name']}”); nothing more fires from it."
        )
        if task["active_run"]:
            self.stdout.write(
                f"Run #{task['active_run']} is still in progress; stop it with "
                f"`nightshift runs stop {task['active_run']}`."
            )
