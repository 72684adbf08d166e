"""``nightshift archives list|show|download|delete|restore``: manage archives.

Download, delete and restore ask for your password again (a prompt, or ``--password-stdin``)
and are audited like the same actions in the browser and the API."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from nightshift.archiving import actions
from nightshift.archiving.choices import ArchiveState
from nightshift.archiving.models import Archive
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

COLUMNS = ("id", "entity", "months", "state", "total_rows", "ratio", "archived_by", "archived_at")


class Command(BaseCommand):
    help = "List, show, download, delete and restore archives."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
        listing = sub.add_parser("list", help="archives, newest first")
        listing.add_argument("--entity")
        listing.add_argument("--state", choices=ArchiveState.values)
        add_user_option(listing)
        add_json_option(listing)
        show = sub.add_parser("show", help="one archive")
        show.add_argument("id", type=int, metavar="ID")
        add_user_option(show)
        add_json_option(show)
        download = sub.add_parser("download", help="a ZIP: one CSV per model and a manifest")
        download.add_argument("id", type=int, metavar="ID")
        download.add_argument("-o", "--output", required=True, metavar="FILE")
        for name, text in (
            ("delete", "delete an archive's data for good"),
            ("restore", "put an archive's rows back into the live tables"),
        ):
            verb = sub.add_parser(name, help=text)
            verb.add_argument("id", type=int, metavar="ID")
            add_password_option(verb)
            add_user_option(verb)
            add_json_option(verb)
        add_password_option(download)
        add_user_option(download)
        add_json_option(download)

    def handle(self, *args: Any, verb: str, **options: Any) -> None:
        user = acting_user(options["user"])
        getattr(self, f"_{verb}")(user, options)

    def _list(self, user, options: dict[str, Any]) -> None:
        if not user.has_perm("archiving.view_archive"):
            raise CommandError("You may not view archives (permission archiving.view_archive).")
        Archive.settle()
        archives = Archive.objects.select_related("created_by")
        if options["entity"]:
            archives = archives.filter(entity=options["entity"])
        if options["state"]:
            archives = archives.filter(state=options["state"])
        rows = [archive.summary() for archive in archives.order_by("-created_at", "-pk")]
        if options["json"]:
            write_json(self.stdout, rows)
        elif rows:
            write_table(self.stdout, rows, COLUMNS)
        else:
            self.stdout.write("No archives.")

    def _show(self, user, options: dict[str, Any]) -> None:
        if not user.has_perm("archiving.view_archive"):
            raise CommandError("You may not view archives (permission archiving.view_archive).")
        with operator_errors():
            self._print(actions.get_archive(options["id"]), options)

    def _print(self, archive: Archive, options: dict[str, Any]) -> None:
        if options["json"]:
            write_json(self.stdout, archive.summary())
        else:
            write_fields(self.stdout, archive.summary())

    def _download(self, user, options: dict[str, Any]) -> None:
        password = read_password(options)
        with operator_errors():
            archive, stream = actions.download_archive(
                user=user, archive_id=options["id"], password=password, channel="cli"
            )
            size = 0
            with open(options["output"], "wb") as out:
                for part in stream:
                    out.write(part)
                    size += len(part)
        if options["json"]:
            write_json(
                self.stdout, {"archive": archive.pk, "file": options["output"], "bytes": size}
            )
        else:
            self.stdout.write(
                f"Archive #{archive.pk} written to {options['output']} ({size} bytes)."
            )

    def _delete(self, user, options: dict[str, Any]) -> None:
        password = read_password(options)
        with operator_errors():
            archive = actions.delete_archive(
                user=user, archive_id=options["id"], password=password, channel="cli"
            )
        self._print(archive, options)

    def _restore(self, user, options: dict[str, Any]) -> None:
        password = read_password(options)
        with operator_errors():
            archive = actions.restore_archive(
                user=user, archive_id=options["id"], password=password, channel="cli"
            )
        self._print(archive, options)
        if archive.restore_report and not options["json"]:
            for conflict in archive.restore_report:
                self.stderr.write(f"{conflict['model']} {conflict['id']}: {conflict['message']}")
