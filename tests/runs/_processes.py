"""Real ``nightshift`` processes for the PostgreSQL engine tests: spawned with
``sys.executable -m nightshift.cli`` against the test database, stopped with SIGTERM (a clean
exit is asserted) or killed with SIGKILL (a crash)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
# Waiting for a condition, never a measurement: generous so that a loaded machine only slows
# the test down.
PATIENCE = 300.0
POLL = 0.05


def database_url() -> str:
    """The URL of the database this test runs on (inside a test: the test database)."""
    db = settings.DATABASES["default"]
    assert db["ENGINE"].endswith("postgresql"), db["ENGINE"]
    credentials = db["USER"] or ""
    if db.get("PASSWORD"):
        credentials += f":{db['PASSWORD']}"
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return f"postgres://{credentials}@{host}/{db['NAME']}"


def environment(var_dir: Path, **overrides: str | int | float) -> dict[str, str]:
    """What a spawned command runs with: the test database, a private var directory (mail,
    static files), fast heartbeats and a short worker timeout."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("NIGHTSHIFT_", "DJANGO_", "PYTEST_")) and key != "DATABASE_URL"
    }
    env.update(
        DATABASE_URL=database_url(),
        DJANGO_SETTINGS_MODULE="nightshift.settings",
        SECRET_KEY="postgres-engine-tests-" + "x" * 40,
        NIGHTSHIFT_VAR_DIR=str(var_dir),
        NIGHTSHIFT_WORKER_TIMEOUT="3",
        NIGHTSHIFT_HEARTBEAT_INTERVAL="1",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(ROOT),
        LOG_LEVEL="WARNING",
    )
    env.update({key: str(value) for key, value in overrides.items()})
    return env


class Spawned:
    """One ``nightshift`` command running in its own process; output goes to files (a pipe
    nobody reads would block it)."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        # Set once the test waits for it to exit (or ends it): from then on an exit is expected.
        self.ending = False
        logs.mkdir(parents=True, exist_ok=True)
        self.stdout_path = logs / f"{name}.out"
        self.stderr_path = logs / f"{name}.err"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "nightshift.cli", *args],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=err,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def errors(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def describe(self) -> str:
        return (
            f"{self.name} (pid {self.pid}, exit {self.popen.returncode})\n"
            f"--- stdout\n{self.output()[-3000:]}\n--- stderr\n{self.errors()[-3000:]}"
        )

    def wait(self, timeout: float = PATIENCE) -> int:
        self.ending = True
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            message = f"{self.name} did not exit in {timeout}s\n{self.describe()}"
            raise AssertionError(message) from None

    def terminate(self, timeout: float = PATIENCE) -> int:
        """SIGTERM, then the exit code once it has exited."""
        self.ending = True
        self.popen.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self) -> int:
        self.ending = True
        self.popen.send_signal(signal.SIGKILL)
        return self.wait()


class Processes:
    """The processes a test started; whatever is still running at the end is killed."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.started: list[Spawned] = []

    def start(self, name: str, *args: str, **env: str | int | float) -> Spawned:
        full_env = {**self.env, **{key: str(value) for key, value in env.items()}}
        spawned = Spawned(name, list(args), full_env, self.logs)
        self.started.append(spawned)
        return spawned

    def scheduler(self, name: str, *extra: str, **env) -> Spawned:
        return self.start(name, "scheduler", "run", *extra, **env)

    def worker(self, name: str, *extra: str, **env) -> Spawned:
        return self.start(name, "worker", *extra, **env)

    def report(self) -> str:
        return "\n\n".join(spawned.describe() for spawned in self.started)

    def kill_all(self) -> None:
        for spawned in self.started:
            if spawned.alive():
                spawned.popen.kill()
                spawned.popen.wait()


def wait_for(
    condition: Callable[[], object],
    *,
    what: str,
    timeout: float = PATIENCE,
    watch: Processes | None = None,
) -> object:
    """Poll ``condition`` until it is truthy and return its value. Fails after ``timeout``
    seconds, or at once if a watched process exited without being told to."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if watch is not None:
            dead = [s for s in watch.started if not s.ending and not s.alive()]
            if dead:
                raise AssertionError(
                    f"while waiting for {what}, a process exited:\n"
                    + "\n\n".join(s.describe() for s in dead)
                )
        if time.monotonic() > deadline:
            report = f"\n{watch.report()}" if watch else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{report}")
        time.sleep(POLL)
