"""``nightshift schedule preview --schedule JSON [-n N] [--from ISO]``: the next firings."""

from __future__ import annotations

import json
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from nightshift.scheduling.specs import ScheduleError, parse_schedule, preview


class Command(BaseCommand):
    help = "Show the next firings of scheduling settings (the same JSON the API and UI use)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        show = sub.add_parser("preview", help="the next N firings of a schedule")
        show.add_argument("--schedule", required=True, help="scheduling settings as JSON")
        show.add_argument("-n", type=int, default=10, help="how many firings (default 10)")
        show.add_argument("--from", dest="after", help="ISO date-time to start from (now)")
        show.add_argument("--json", action="store_true", help="print a JSON list")

    def handle(self, *args, verb: str, **options):
        try:
            data = json.loads(options["schedule"])
        except json.JSONDecodeError as exc:
            raise CommandError(f"--schedule is not valid JSON: {exc}") from None
        try:
            spec = parse_schedule(data)
        except ScheduleError as exc:
            raise CommandError(f"invalid schedule: {exc}") from None
        after = timezone.now()
        if options["after"]:
            try:
                after = datetime.fromisoformat(options["after"])
            except ValueError:
                raise CommandError(
                    "--from must be an ISO date-time, e.g. 2026-12-01T08:00"
                ) from None
            if timezone.is_naive(after):
                after = after.replace(tzinfo=spec.zone)
        if options["n"] < 1:
            raise CommandError("-n must be at least 1")
        found = preview(spec, options["n"], after=after)
        if options["json"]:
            self.stdout.write(json.dumps([instant.isoformat() for instant in found]))
            return
        if not found:
            self.stdout.write("This schedule does not fire again.")
        for number, instant in enumerate(found, start=1):
            self.stdout.write(f"{number:>3}  {instant.isoformat()}  ({spec.timezone})")
