"""``nightshift serve`` end to end: a real server on a fresh SQLite database, real signals.

Time limits here only stop a broken test from hanging; they assert nothing about speed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from nightshift.core.supervisor import Child, Supervisor

GUARD = 60.0  # seconds before a wait is declared hung


def nightshift_argv(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("nightshift")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "nightshift.cli", *args]


def wait_for[T](condition: Callable[[], T], what: str, timeout: float = GUARD) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def children_of(pid: int) -> dict[int, str]:
    """Live child processes of ``pid`` (pid → command line), read from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # exited while we looked
        # Fields after the command name, which is in parentheses and may contain spaces.
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            found[int(entry.name)] = cmdline
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 — local http
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


@pytest.fixture(scope="module")
def serve_env(tmp_path_factory) -> dict[str, str]:
    """An environment whose database is a freshly migrated SQLite file in a temp dir."""
    var_dir = tmp_path_factory.mktemp("var")
    env = {**os.environ, "NIGHTSHIFT_VAR_DIR": str(var_dir), "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)  # SQLite in var_dir even when the suite runs on PostgreSQL
    subprocess.run(
        nightshift_argv("migrate", "--no-input", "-v0"),
        env=env,
        check=True,
        timeout=GUARD * 5,
    )
    return env


class Served:
    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process = process
        self.base = f"http://127.0.0.1:{port}"
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=GUARD)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve did not exit after {signum!r}:\n{self.output()}")


@pytest.fixture
def served(serve_env, tmp_path) -> Iterator[Served]:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            nightshift_argv("serve", "--host", "127.0.0.1", "--port", str(port)),
            env=serve_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    running = Served(process, port, log)
    try:
        yield running
    finally:
        if process.poll() is None:  # a failed test must not leave a server behind
            for pid in children_of(process.pid):
                os.killpg(pid, signal.SIGKILL)
            process.kill()
            process.wait()


def healthy(served: Served) -> bool:
    status, body = get(served.base + "/healthz")
    return status == 200 and json.loads(body).get("database") == "ok"


def test_serve_answers_then_sigint_stops_every_child(served):
    wait_for(lambda: healthy(served), f"/healthz to answer:\n{served.output()}")
    assert get(served.base + "/login/")[0] == 200
    children = wait_for(
        lambda: (found := children_of(served.process.pid)) and len(found) >= 3 and found,
        "web, scheduler and worker child processes",
    )
    assert any("uvicorn" in cmd for cmd in children.values()), children
    assert any("scheduler run" in cmd for cmd in children.values()), children
    assert any(cmd.split()[-1:] == ["worker"] for cmd in children.values()), children
    wait_for(lambda: "Nightshift is up at " + served.base in served.output(), "the URL")

    assert served.stop(signal.SIGINT) == 0

    assert [pid for pid in children if alive(pid)] == []


def test_serve_restarts_a_child_that_dies(served):
    wait_for(lambda: healthy(served), f"/healthz to answer:\n{served.output()}")

    def worker() -> int | None:
        # A child being spawned (or reaped) has no command line yet: it is not the worker.
        found = children_of(served.process.pid)
        return next((pid for pid, cmd in found.items() if cmd.split()[-1:] == ["worker"]), None)

    first = wait_for(worker, "the worker")
    os.kill(first, signal.SIGKILL)

    second = wait_for(lambda: (pid := worker()) != first and pid, "a new worker")
    assert "worker exited unexpectedly (killed by SIGKILL)" in served.output()
    assert served.stop(signal.SIGTERM) == 0
    assert not alive(second)


def test_supervisor_restarts_crashing_child_with_growing_delay(tmp_path):
    starts = tmp_path / "starts"
    crasher = Child(
        "crasher",
        [sys.executable, "-c", f"open({str(starts)!r}, 'a').write('x'); raise SystemExit(3)"],
    )
    steady = Child("steady", [sys.executable, "-c", "import time; time.sleep(600)"])
    supervisor = Supervisor([crasher, steady], out=StringIO())
    stop = threading.Event()
    thread = threading.Thread(target=supervisor.run, args=(stop,))
    thread.start()
    try:
        # Backoff 1 s then 2 s: the third start comes about 3 s after the first.
        wait_for(lambda: starts.exists() and len(starts.read_text()) >= 3, "three starts")
        steady_pid = supervisor.pids()["steady"]
    finally:
        stop.set()
        thread.join(GUARD)
    assert not thread.is_alive()
    assert supervisor.starts()["steady"] == 1
    assert supervisor.starts()["crasher"] >= 3
    assert not alive(steady_pid)


def test_supervisor_kills_a_child_that_ignores_sigterm():
    stubborn = Child(
        "stubborn",
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(600)",
        ],
    )
    out = StringIO()
    supervisor = Supervisor([stubborn], out=out)
    stop, force = threading.Event(), threading.Event()
    thread = threading.Thread(target=supervisor.run, args=(stop,), kwargs={"force": force})
    thread.start()
    wait_for(lambda: "stubborn | ready" in out.getvalue(), "the child's output, prefixed")
    pid = supervisor.pids()["stubborn"]
    stop.set()
    force.set()  # a second Ctrl-C: no grace period
    thread.join(GUARD)
    assert not thread.is_alive()
    assert not alive(pid)


def test_serve_refuses_a_port_in_use_with_a_hint():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CommandError, match="already running"):
            call_command("serve", "--port", str(port))


def test_supervisor_rejects_duplicate_names():
    with pytest.raises(ValueError, match="unique"):
        Supervisor([Child("a", ["true"]), Child("a", ["true"])])
