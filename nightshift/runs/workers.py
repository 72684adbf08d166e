"""Worker processes of application servers: registration and heartbeat.

A worker (``nightshift worker --server NAME``, or a command run with ``--inline``) registers a
``Worker`` row and refreshes its ``last_seen`` from a background thread. The scheduler takes over
the runs of a worker whose heartbeat is older than ``NIGHTSHIFT_WORKER_TIMEOUT``.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.crypto import get_random_string

from nightshift.runs.models import ApplicationServer, Worker

HEARTBEAT_INTERVAL = getattr(settings, "NIGHTSHIFT_HEARTBEAT_INTERVAL", 5)

_current_worker_id: ContextVar[str | None] = ContextVar("nightshift_worker", default=None)


def new_worker_id(prefix: str = "") -> str:
    host = socket.gethostname()[:30]
    return f"{prefix}{host}:{os.getpid()}:{get_random_string(6)}"[:64]


def current_worker_id() -> str:
    """The id of the worker registered in this process (set by ``registered``)."""
    worker_id = _current_worker_id.get()
    if worker_id is None:
        raise RuntimeError("No worker is registered in this process; use nightshift worker.")
    return worker_id


@contextmanager
def registered(server: ApplicationServer, worker_id: str | None = None) -> Iterator[str]:
    """Register this process as a worker of ``server`` and heartbeat until the block ends."""
    worker_id = worker_id or new_worker_id()
    Worker.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "server": server,
            "hostname": socket.gethostname()[:200],
            "pid": os.getpid(),
            "last_seen": timezone.now(),
        },
    )
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(HEARTBEAT_INTERVAL):
                Worker.objects.filter(worker_id=worker_id).update(last_seen=timezone.now())
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"heartbeat-{worker_id}", daemon=True)
    thread.start()
    token = _current_worker_id.set(worker_id)
    try:
        yield worker_id
    finally:
        _current_worker_id.reset(token)
        stop.set()
        thread.join()
        Worker.objects.filter(worker_id=worker_id).delete()
