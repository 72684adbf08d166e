"""Runs a fixed set of child processes, restarts the ones that die, and stops them all cleanly.

``nightshift serve`` describes its children (web server, task worker, later the scheduler loop
and more workers) as a list of :class:`Child`; everything about keeping them alive lives here,
so adding a process to ``serve`` is adding one entry to that list.

Each child runs in its own session (process group), which is what lets the supervisor, and only
the supervisor, decide how children stop: a Ctrl-C in the terminal reaches ``serve`` alone, which
then sends SIGTERM to every group, waits, and only then uses SIGKILL. Signalling the group rather
than the pid also reaches grandchildren (an autoreloader's worker, say), so none is orphaned.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

logger = logging.getLogger(__name__)

POLL_INTERVAL = 0.2  # seconds between liveness checks; a crash is noticed within this
BACKOFF_START = 1.0  # first restart delay: quick enough that a one-off crash goes unnoticed
BACKOFF_MAX = 30.0  # a child that crashes at once on every start is retried twice a minute
STABLE_AFTER = 30.0  # a child that ran this long before dying gets the short delay again
STOP_TIMEOUT = 10.0  # grace period between SIGTERM and SIGKILL; a task batch can finish

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


@dataclass(frozen=True)
class Child:
    """One supervised process: a name that prefixes its output, and the command it runs.

    ``ready`` is an optional probe called while the child runs until it first returns True,
    at which point ``ready_message`` is printed (``serve`` uses it to print the URL).
    """

    name: str
    argv: Sequence[str]
    env: dict[str, str] = field(default_factory=dict)
    ready: Callable[[], bool] | None = None
    ready_message: str = ""


def nightshift_command(*args: str) -> list[str]:
    """The argv that runs a ``nightshift`` management command with this interpreter.

    ``python -m nightshift.cli`` rather than the console script, so a child runs in the same
    virtualenv as its supervisor even when ``.venv/bin`` is not on PATH.
    """
    return [sys.executable, "-m", "nightshift.cli", *args]


def port_accepts(host: str, port: int) -> Callable[[], bool]:
    """A readiness probe: True once something accepts TCP connections on ``host:port``."""
    # A wildcard bind is reachable on loopback; connecting to 0.0.0.0 itself is not portable.
    target = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104

    def probe() -> bool:
        try:
            with socket.create_connection((target, port), timeout=0.5):
                return True
        except OSError:
            return False

    return probe


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, a function for ``preexec_fn`` that makes the kernel send SIGTERM to the child
    if the supervisor itself is killed (SIGKILL, OOM killer), when it cannot clean up.

    libc is resolved here, before any fork, so the child only makes one foreign call.
    """
    if not sys.platform.startswith("linux"):
        return None
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return None
    prctl = ctypes.CDLL(libc_name, use_errno=True).prctl

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    return preexec


class _Running:
    """The supervisor's bookkeeping for one child across its restarts."""

    def __init__(self, child: Child) -> None:
        self.child = child
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.restart_at = 0.0  # when the next start is due, while no process runs
        self.failures = 0  # consecutive quick deaths, drives the backoff
        self.starts = 0
        self.announced = False


class Supervisor:
    """Starts ``children``, keeps them running until asked to stop, then stops them all.

    Children's stdout and stderr are merged and copied to ``out`` line by line, each line
    prefixed with the child's name, so one terminal shows every process legibly.
    """

    def __init__(self, children: Sequence[Child], *, out: TextIO | None = None) -> None:
        names = [child.name for child in children]
        if len(set(names)) != len(names):
            raise ValueError(f"child names must be unique: {names}")
        self.out = out or sys.stdout
        self._children = [_Running(child) for child in children]
        self._width = max((len(name) for name in names), default=0)
        self._write_lock = threading.Lock()
        self._preexec = _die_with_parent()

    # -- public ------------------------------------------------------------------------------

    def serve_forever(self) -> None:
        """Run until SIGINT, SIGTERM or SIGHUP, then stop every child; a second signal while
        stopping skips the grace period. Must be called from the main thread."""
        stop, force = threading.Event(), threading.Event()

        def request_stop(signum: int, _frame: object) -> None:
            if stop.is_set():
                force.set()
            else:
                stop.set()
                self.say(f"{signal.strsignal(signum)}: stopping (again to force)")

        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, request_stop)
        self.run(stop, force=force)

    def run(self, stop: threading.Event, *, force: threading.Event | None = None) -> None:
        """Supervise until ``stop`` is set, then stop the children (SIGKILL at once if
        ``force`` gets set meanwhile). Returns once no child process is left."""
        try:
            while True:
                self._tick(time.monotonic())
                if stop.wait(POLL_INTERVAL):
                    break
        finally:
            self._stop_all(force or threading.Event())

    def pids(self) -> dict[str, int]:
        """The pid of each child running now, by name."""
        return {
            running.child.name: running.process.pid
            for running in self._children
            if running.process is not None and running.process.poll() is None
        }

    def starts(self) -> dict[str, int]:
        """How many times each child has been started."""
        return {running.child.name: running.starts for running in self._children}

    def say(self, message: str) -> None:
        """Print a line of the supervisor's own, always shown whatever the log level."""
        self._write(f"{'serve':<{self._width}} | {message}\n")

    # -- internals ---------------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        for running in self._children:
            process = running.process
            if process is None:
                if now >= running.restart_at:
                    self._start(running, now)
                continue
            code = process.poll()
            if code is None:
                self._announce_if_ready(running)
                continue
            self._reap(running)
            if now - running.started_at >= STABLE_AFTER:
                running.failures = 0
            delay = min(BACKOFF_START * 2**running.failures, BACKOFF_MAX)
            running.failures += 1
            running.restart_at = now + delay
            logger.warning(
                "%s exited unexpectedly (%s); restarting in %.0f s",
                running.child.name,
                _describe_exit(code),
                delay,
            )

    def _start(self, running: _Running, now: float) -> None:
        child = running.child
        running.starts += 1
        running.started_at = now
        running.announced = False
        # Unbuffered, so a child's lines reach the terminal as they are written.
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **child.env}
        try:
            running.process = subprocess.Popen(  # noqa: S603 — argv from code, never a shell
                list(child.argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=self._preexec,  # noqa: PLW1509 — one prctl call, resolved pre-fork
            )
        except OSError as exc:
            delay = min(BACKOFF_START * 2**running.failures, BACKOFF_MAX)
            running.failures += 1
            running.restart_at = now + delay
            logger.error("%s could not start (%s); retrying in %.0f s", child.name, exc, delay)
            return
        logger.info("%s started (pid %d)", child.name, running.process.pid)
        threading.Thread(
            target=self._copy_output,
            args=(child.name, running.process),
            name=f"output-{child.name}",
            daemon=True,
        ).start()

    def _announce_if_ready(self, running: _Running) -> None:
        child = running.child
        if running.announced or child.ready is None:
            return
        if child.ready():
            running.announced = True
            if child.ready_message:
                self.say(child.ready_message)

    def _copy_output(self, name: str, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        prefix = f"{name:<{self._width}} | "
        with process.stdout:
            for raw in process.stdout:
                self._write(prefix + raw.decode(errors="replace").rstrip("\r\n") + "\n")

    def _write(self, text: str) -> None:
        with self._write_lock:
            self.out.write(text)
            self.out.flush()

    def _reap(self, running: _Running) -> None:
        """Forget a child whose main process has exited, killing what it left in its group."""
        process = running.process
        assert process is not None
        _signal_group(process.pid, signal.SIGKILL)
        running.process = None

    def _stop_all(self, force: threading.Event) -> None:
        """SIGTERM every child's group, wait up to STOP_TIMEOUT, then SIGKILL the rest."""
        live = [r for r in self._children if r.process is not None]
        for running in live:
            assert running.process is not None
            _signal_group(running.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while live and time.monotonic() < deadline and not force.is_set():
            for running in list(live):
                assert running.process is not None
                if running.process.poll() is not None:
                    self._reap(running)
                    live.remove(running)
            if live:
                force.wait(0.05)
        for running in live:
            assert running.process is not None
            logger.warning("%s did not stop in time; killing it", running.child.name)
            _signal_group(running.process.pid, signal.SIGKILL)
            running.process.wait()
            running.process = None


def _signal_group(pgid: int, signum: int) -> None:
    # ProcessLookupError: the whole group is already gone.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _describe_exit(code: int) -> str:
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"
