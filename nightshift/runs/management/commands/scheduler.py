"""``nightshift scheduler run|start|standby|status``: the scheduler loop and its state."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand
from django.utils import timezone

from nightshift.core.cli import acting_user, add_user_option, operator_errors
from nightshift.runs import actions
from nightshift.runs.models import ScheduledTask, SchedulerState, TaskState
from nightshift.runs.scheduler import Loop


class Command(BaseCommand):
    help = "Run the scheduler loop, or start it, put it in standby, or show its state."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        run = sub.add_parser("run", help="fire due tasks until SIGTERM (any number may run)")
        run.add_argument("--once", action="store_true", help="one tick, then exit")
        run.add_argument("--interval", type=float, default=1.0, help="seconds between ticks")
        for verb, text in (
            ("start", "set the scheduler Running"),
            ("standby", "set it in Standby"),
        ):
            parser_ = sub.add_parser(verb, help=text)
            add_user_option(parser_)
            parser_.add_argument("--json", action="store_true")
        status = sub.add_parser("status", help="Running or Standby, last tick, tasks due")
        status.add_argument("--json", action="store_true")

    def handle(self, *args, verb: str, **options):
        if verb == "run":
            loop = Loop(interval=options["interval"], out=self.stdout)
            loop.handle_signals()
            loop.run(once=options["once"])
            return
        if verb in ("start", "standby"):
            user = acting_user(options["user"])
            with operator_errors():
                actions.set_scheduler_state(user=user, running=verb == "start")
        self._status(options.get("json", False))

    def _status(self, as_json: bool) -> None:
        state = SchedulerState.get()
        scheduled = ScheduledTask.objects.filter(state=TaskState.SCHEDULED)
        status = {
            "state": "running" if state.running else "standby",
            "changed_at": state.changed_at.isoformat(),
            "changed_by": state.changed_by.get_username() if state.changed_by else None,
            "last_tick_at": state.last_tick_at.isoformat() if state.last_tick_at else None,
            "scheduled_tasks": scheduled.count(),
            "due_now": scheduled.filter(next_fire_at__lte=timezone.now()).count(),
        }
        if as_json:
            self.stdout.write(json.dumps(status, indent=2))
            return
        for key, value in status.items():
            self.stdout.write(f"{key.replace('_', ' ')}: {value if value is not None else '-'}")
