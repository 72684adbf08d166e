"""``nightshift runs list|show|stop|delete``: process runs, their summaries and outcomes."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from nightshift.core.cli import (
    acting_user,
    add_json_option,
    add_user_option,
    operator_errors,
    write_fields,
    write_json,
    write_table,
)
from nightshift.runs import actions
from nightshift.runs.api import Outcome, RunItemOut, get_run_or_404, run_items, runs
from nightshift.runs.models import RunState

DEFAULT_LIMIT = 100  # rows a listing prints unless told otherwise; --limit 0 prints them all
COLUMNS = (
    "number",
    "process",
    "definition",
    "version",
    "state",
    "total",
    "succeeded",
    "failed",
    "progress",
    "server",
    "started_at",
    "ended_at",
)


class Command(BaseCommand):
    help = "List process runs, show one with its outcomes, stop or delete one."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
        listing = sub.add_parser("list", help="process runs, newest first")
        listing.add_argument("--state", choices=RunState.values)
        listing.add_argument("--process", metavar="KEY")
        listing.add_argument("--server", metavar="NAME", help="application server")
        listing.add_argument("--definition", metavar="CODE")
        listing.add_argument("--from", dest="created_from", type=_day, metavar="YYYY-MM-DD")
        listing.add_argument("--to", dest="created_to", type=_day, metavar="YYYY-MM-DD")
        _limit_option(listing)
        add_user_option(listing)
        add_json_option(listing)

        show = sub.add_parser("show", help="a run's summary, and its outcomes with --items")
        show.add_argument("number", type=int, metavar="NUMBER")
        show.add_argument(
            "--items", choices=Outcome.values, help="also list the records with this outcome"
        )
        _limit_option(show)
        add_user_option(show)
        add_json_option(show)

        stop = sub.add_parser(
            "stop", help="stop a run: the batch in flight is rolled back, the rest stays"
        )
        stop.add_argument("number", type=int, metavar="NUMBER")
        add_user_option(stop)
        add_json_option(stop)

        delete = sub.add_parser("delete", help="delete a run that has not started yet")
        delete.add_argument("number", type=int, metavar="NUMBER")
        add_user_option(delete)

    def handle(self, *args: Any, verb: str, **options: Any) -> None:
        getattr(self, f"_{verb}")(options)

    def _list(self, options: dict[str, Any]) -> None:
        if options["user"]:
            acting_user(options["user"])
        rows = runs().order_by("-pk")
        for option, lookup in (
            ("state", "state"),
            ("process", "process_key"),
            ("server", "server__name"),
            ("definition", "definition__unified_code"),
            ("created_from", "created_at__date__gte"),
            ("created_to", "created_at__date__lte"),
        ):
            if options[option] is not None:
                rows = rows.filter(**{lookup: options[option]})
        found = [run.summary() for run in _limited(rows, options["limit"])]
        if options["json"]:
            write_json(self.stdout, found)
        elif not found:
            self.stdout.write("No process runs.")
        else:
            write_table(self.stdout, found, COLUMNS)

    def _show(self, options: dict[str, Any]) -> None:
        if options["user"]:
            acting_user(options["user"])
        with operator_errors():
            run = get_run_or_404(options["number"])
        summary = run.summary()
        items = None
        if options["items"]:
            items = [
                RunItemOut.from_orm(item).model_dump(mode="json")
                for item in _limited(run_items(run, options["items"]), options["limit"])
            ]
        if options["json"]:
            write_json(self.stdout, summary if items is None else {**summary, "items": items})
            return
        write_fields(self.stdout, summary)
        if items is None:
            return
        self.stdout.write("")
        if items:
            write_table(self.stdout, items, ("record_id", "outcome", "message"))
        else:
            self.stdout.write(f"No {options['items']} outcomes stored for run #{run.pk}.")
            if options["items"] == Outcome.SUCCESS and run.definition.log_level == "errors":
                self.stdout.write(
                    "Its definition logs errors only: successes are counted, not listed."
                )

    def _stop(self, options: dict[str, Any]) -> None:
        user = acting_user(options["user"])
        with operator_errors():
            actions.stop_run(user=user, number=options["number"])
        run = get_run_or_404(options["number"])
        if options["json"]:
            write_json(self.stdout, run.summary())
        elif run.state == RunState.STOPPED:
            self.stdout.write(f"Run #{run.pk} stopped before it started.")
        else:
            self.stdout.write(
                f"Asked run #{run.pk} to stop: its batch in flight is rolled back and the "
                "records already processed stay processed."
            )

    def _delete(self, options: dict[str, Any]) -> None:
        user = acting_user(options["user"])
        with operator_errors():
            actions.delete_run(user=user, number=options["number"])
        self.stdout.write(f"Deleted run #{options['number']}.")


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{value}” is not a day: write YYYY-MM-DD") from None


def _limit_option(parser: CommandParser) -> None:
    parser.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"print at most N rows (default {DEFAULT_LIMIT}; 0 for all)",
    )


def _limited(rows, limit: int):
    return rows if limit <= 0 else rows[:limit]
