"""``nightshift worker [--server NAME]``: a worker of an application server.

Registers with the server (created if it does not exist yet), heartbeats, and executes the
process runs queued on the server's queue. SIGTERM or Ctrl-C: the run in progress is handed
back to the queue after its current batch, then the worker exits.
"""

from __future__ import annotations

import signal

from django.core.management.base import BaseCommand
from django.db import transaction
from django_tasks_db.management.commands.db_worker import Worker as QueueWorker

from nightshift.runs import engine
from nightshift.runs.models import ApplicationServer, LogEntry
from nightshift.runs.workers import new_worker_id, registered


class _Worker(QueueWorker):
    def shutdown(self, signum, frame) -> None:
        engine.SHUTDOWN.set()
        if self.running and not self.running_task:
            # Between tasks the queue's worker would raise SystemExit from this handler,
            # wherever the worker is: in the middle of a poll's query, it left the connection
            # unusable for the worker's own clean-up (exit 1 instead of 0). The loop ends at
            # its next turn instead, within the poll interval.
            self.running = False
            return
        super().shutdown(signum, frame)


class Command(BaseCommand):
    help = "Run a worker of an application server: it executes the process runs queued there."

    def add_arguments(self, parser):
        parser.add_argument(
            "--server", help="application server to work for (default: the default server)"
        )
        parser.add_argument(
            "--interval", type=float, default=0.5, help="seconds between polls of an empty queue"
        )
        parser.add_argument(
            "--batch", action="store_true", help="exit when the queue is empty (for scripts)"
        )
        parser.add_argument("--max-tasks", type=int, default=None, help="exit after N runs")

    def handle(self, *args, server: str | None, interval: float, batch: bool, max_tasks, **opts):
        if server:
            with transaction.atomic():
                target, created = ApplicationServer.objects.get_or_create(name=server)
                if created:
                    LogEntry.objects.create(
                        source=LogEntry.Source.WORKER,
                        message=f"Application server “{server}” registered by its first worker.",
                    )
        else:
            target = ApplicationServer.default()
        worker_id = new_worker_id()
        with registered(target, worker_id):
            self.stdout.write(f"worker {worker_id} serving application server {target.name}")
            worker = _Worker(
                queue_names=[target.name],
                interval=interval,
                batch=batch,
                backend_name="default",
                startup_delay=not batch,
                max_tasks=max_tasks,
                worker_id=worker_id,
                excluded_queue_names=[],
            )
            worker.configure_signals()
            try:
                worker.run()
            finally:
                worker.reset_signals()
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
