"""``nightshift archive ENTITY --months N``: archive an entity's data older than N months.

Creates a run-now archive definition and submits it with your password (prompted, or from
``--password-stdin``); ``--inline`` runs it here, ``--wait`` waits for a worker, and both print
the run summary with ``archived`` (rows per model) and ``archive_id``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from nightshift.archiving import actions
from nightshift.archiving.registry import all_entities
from nightshift.core.cli import (
    acting_user,
    add_json_option,
    add_password_option,
    add_user_option,
    operator_errors,
    read_password,
)
from nightshift.runs.management.commands.definitions import DEFAULT_TIMEOUT
from nightshift.runs.management.commands.definitions import Command as DefinitionsCommand


class Command(DefinitionsCommand):
    help = "Archive the data of one entity created more than N months ago."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("entity", metavar="ENTITY", choices=[e.key for e in all_entities()])
        parser.add_argument(
            "--months", type=int, default=12, help="archive data created N months ago (12)"
        )
        how = parser.add_mutually_exclusive_group()
        how.add_argument("--inline", action="store_true", help="run it now in this process")
        how.add_argument("--wait", action="store_true", help="wait for a worker to run it")
        parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS")
        parser.add_argument("--batch-size", type=int, metavar="N", help="rows per chunk")
        add_password_option(parser)
        add_user_option(parser)
        add_json_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        user = acting_user(options["user"])
        password = read_password(options)
        with operator_errors({"entity": "ENTITY", "parameters": "--months"}):
            actions.confirm(user=user, password=password, what="archive data", channel="cli")
            definition = actions.create_archive_definition(
                user=user, entity=options["entity"], months=options["months"]
            )
        self._submit(
            {**options, "code": definition.unified_code, "version": None, "password": password}
        )
