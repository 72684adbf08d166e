"""Errors logged by the application, kept in the database for the bug detector.

``DatabaseErrorHandler`` is attached to the root logger at start-up (``MailConfig.ready``) and
stores every record of level ERROR or above as a ``LoggedError``: a view that raised (Django
logs it on ``django.request``), a run that crashed (``nightshift.runs.engine``), a worker that
failed. It never raises and never logs (a failing database must not take the request down
with it, nor loop back into the handler).

A record logged inside a transaction is written when that transaction commits (written at
once it would vanish with a rollback, and on SQLite a second connection would wait for the
first one's write lock); if it rolls back, the record waits and is written with the next
error logged outside a transaction. Errors are seldom logged inside one: an exception usually
leaves its ``atomic`` block before it is logged.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback

from django.utils import timezone

__all__ = ["DatabaseErrorHandler", "install"]

MAX_MESSAGE = 10_000  # characters kept of a message or traceback: enough to act on, bounded
_HOST = socket.gethostname()[:200]


class DatabaseErrorHandler(logging.Handler):
    """Store ERROR records as ``LoggedError`` rows (see the module docstring)."""

    def __init__(self, level: int = logging.ERROR) -> None:
        super().__init__(level)
        self._local = threading.local()
        self._pending: list[dict] = []
        self._pending_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._local, "busy", False):
            return  # an error raised while writing an error: drop it, never loop
        self._local.busy = True
        try:
            row = self._row(record)
            with self._pending_lock:
                self._pending.append(row)
            self._write_when_possible()
        except Exception:  # noqa: S110 — a logging handler must never raise, nor log
            pass
        finally:
            self._local.busy = False

    def _row(self, record: logging.LogRecord) -> dict:
        message = record.getMessage()
        trace = ""
        if record.exc_info and record.exc_info[0] is not None:
            trace = "".join(traceback.format_exception(*record.exc_info))
        return {
            "logged_at": timezone.now(),
            "level": record.levelname[:10],
            "logger_name": record.name[:200],
            "message": message[:MAX_MESSAGE],
            "traceback": trace[-MAX_MESSAGE:],
            "where": f"{record.pathname}:{record.lineno} in {record.funcName}"[:300],
            "host": _HOST,
            "pid": os.getpid(),
        }

    def _write_when_possible(self) -> None:
        from django.db import connection, transaction

        if connection.in_atomic_block:
            transaction.on_commit(self._flush)
        else:
            self._flush()

    def _flush(self) -> None:
        from nightshift.mail.models import LoggedError

        with self._pending_lock:
            rows, self._pending = self._pending, []
        if not rows:
            return
        try:
            LoggedError.objects.bulk_create(LoggedError(**row) for row in rows)
        except Exception:
            with self._pending_lock:
                # Bounded: a database down for long must not grow memory without limit.
                self._pending = (rows + self._pending)[-1000:]


_handler: DatabaseErrorHandler | None = None


def install() -> DatabaseErrorHandler:
    """Attach the handler to the root logger once (idempotent)."""
    global _handler  # noqa: PLW0603 — one handler per process
    if _handler is None:
        _handler = DatabaseErrorHandler()
        logging.getLogger().addHandler(_handler)
    return _handler
