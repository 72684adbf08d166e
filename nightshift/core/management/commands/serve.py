"""``nightshift serve``: the web server and the background processes, supervised, in one command."""

from __future__ import annotations

import socket
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

from nightshift.core.supervisor import Child, Supervisor, nightshift_command, port_accepts


def children(host: str, port: int) -> list[Child]:
    """Everything ``serve`` runs: the web server, one scheduler loop and one worker of the
    default application server. A new background process joins by adding one entry here."""
    display_host = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, host)  # noqa: S104
    return [
        Child(
            "web",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "nightshift.asgi:application",
                "--host",
                host,
                "--port",
                str(port),
                # Django's ASGI handler does not speak the lifespan protocol; saying so up front
                # spares a misleading line at every start.
                "--lifespan",
                "off",
                # Open keep-alive connections must not hold shutdown past the supervisor's
                # SIGKILL deadline.
                "--timeout-graceful-shutdown",
                "5",
            ],
            ready=port_accepts(host, port),
            ready_message=f"Nightshift is up at http://{display_host}:{port}/ (Ctrl-C stops it)",
        ),
        # Any number of schedulers may run against one database; serve runs one.
        Child("scheduler", nightshift_command("scheduler", "run")),
        # A worker of the default application server; more servers and workers scale out with
        # `nightshift worker --server NAME` on any machine (docs/scale-out.md).
        Child("worker", nightshift_command("worker")),
    ]


class Command(BaseCommand):
    help = (
        "Run the web server, the scheduler and a worker as supervised child processes: output "
        "prefixed by process, crashed processes restarted, Ctrl-C stops everything."
    )
    requires_system_checks = []  # the children run the checks; this process serves no request

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
        parser.add_argument("--port", type=int, default=8000, help="port to listen on")

    def handle(self, *args: object, host: str, port: int, **options: object) -> None:
        self._check_port_free(host, port)
        self._warn_unapplied_migrations()
        supervisor = Supervisor(children(host, port), out=self.stdout)
        supervisor.serve_forever()
        supervisor.say("stopped")

    def _check_port_free(self, host: str, port: int) -> None:
        """Fail now with a hint, rather than let the supervisor restart a web server that can
        never bind (the usual cause: an earlier `make run` still running)."""
        try:
            family, kind, proto, _name, address = socket.getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )[0]
            with socket.socket(family, kind, proto) as sock:
                # As uvicorn does, so a port left in TIME_WAIT by the last run counts as free.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(address)
        except OSError as exc:
            raise CommandError(
                f"Cannot listen on {host}:{port} ({exc.strerror or exc}). Is Nightshift already "
                "running? Choose another port with --port (make run PORT=8001)."
            ) from exc

    def _warn_unapplied_migrations(self) -> None:
        """Every page would fail on an unmigrated database; say so before anything starts.
        Only a warning: the database may be migrated by another machine any moment now."""
        try:
            connection = connections[DEFAULT_DB_ALIAS]
            executor = MigrationExecutor(connection)
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except DatabaseError as exc:
            self.stderr.write(f"The database is not reachable yet ({exc}); starting anyway.")
            return
        finally:
            connections.close_all()
        if plan:
            self.stderr.write(
                self.style.WARNING(
                    f"{len(plan)} migration(s) not applied: run `nightshift migrate` first."
                )
            )
