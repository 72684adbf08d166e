"""What the PostgreSQL benchmarks share: a scratch database of their own, Django set up on it,
and the figures they print (medians, percentiles, peak RSS, a target's verdict).

Not a benchmark itself (``make bench`` skips files starting with an underscore). The server is
``NIGHTSHIFT_BENCH_PG`` (default ``postgres://postgres@127.0.0.1:5432``); each run creates a
database named after the benchmark and its process id, and drops it however the run ends.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("NIGHTSHIFT_BENCH_PG", "postgres://postgres@127.0.0.1:5432")


# -- memory ----------------------------------------------------------------------------------


def _status_kb(field: str) -> int | None:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) if match else None


def rss_mb() -> float:
    """Resident memory now (Linux), else the peak so far."""
    kb = _status_kb("VmRSS")
    return kb / 1024 if kb is not None else peak_rss_mb()


def peak_rss_mb() -> float:
    """Peak resident memory since start, or since the last ``reset_peak_rss``."""
    kb = _status_kb("VmHWM")
    if kb is not None:
        return kb / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def reset_peak_rss() -> bool:
    """Start the peak over from the current RSS (Linux ``clear_refs``), so that a phase's peak
    is not the loading's. False where the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class ChildrenPeak:
    """The largest peak resident memory of this process's child processes whose command line
    holds ``marker``, while it runs (Linux: their ``VmHWM``, looked at every 50 ms until each
    ends: a child's own once it runs its program, not the memory it shared with this process
    before, which ``getrusage`` counts). The children are listed by each thread of this
    process (``/proc/self/task/*/children``), so a look costs a few small reads."""

    def __init__(self, marker: str) -> None:
        self.marker = marker.encode()
        self.mb = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ChildrenPeak:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._done.wait(0.05):
            children = set()
            for listed in Path("/proc/self/task").glob("*/children"):
                with contextlib.suppress(OSError):
                    children.update(listed.read_text().split())
            for child in children:
                try:
                    if self.marker not in Path(f"/proc/{child}/cmdline").read_bytes():
                        continue
                    status = Path(f"/proc/{child}/status").read_text()
                except OSError:
                    continue
                found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
                if found:
                    self.mb = max(self.mb, int(found.group(1)) / 1024)


# -- figures ---------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest value at or above ``pct`` percent of them."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def target(label: str, figure: str, goal: str, met: bool) -> str:
    """One line of the targets summary."""
    return f"  {label:<44} {figure:>16}   target {goal:<14} {verdict(met)}"


# -- database --------------------------------------------------------------------------------


def _maintenance(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        connection.execute(sql)


@contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for this run; yields its URL and drops it at the end
    (closing Django's connections first, if Django is set up)."""
    database = f"nightshift_bench_{name}_{os.getpid()}"
    # The name is built here from a literal and a pid, never from input.
    _maintenance(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    _maintenance(f'CREATE DATABASE "{database}"')
    try:
        yield f"{PG_SERVER}/{database}"
    finally:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        _maintenance(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@contextmanager
def sqlite_database() -> Iterator[str]:
    """The URL of a scratch SQLite file, removed afterwards."""
    scratch = Path(tempfile.mkdtemp(prefix="nightshift-bench-sqlite-"))
    try:
        yield f"sqlite:///{scratch / 'bench.sqlite3'}"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@contextmanager
def django_on(url: str) -> Iterator[None]:
    """Django set up on the database at ``url`` with DEBUG off (no query log growing with the
    run) and a throw-away NIGHTSHIFT_VAR_DIR, migrated — by a child process, as a deployment
    migrates before its workers start: the migrations' loaded state (about 18 MB, in memory
    that stays with the process) would otherwise count in every peak RSS measured here."""
    scratch = Path(tempfile.mkdtemp(prefix="nightshift-bench-"))
    os.environ["DATABASE_URL"] = url
    os.environ["NIGHTSHIFT_VAR_DIR"] = str(scratch)
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nightshift.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        subprocess.run(  # the project's console script, as `nightshift migrate`
            [sys.executable, "-m", "nightshift.cli", "migrate", "--verbosity", "0"],
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": path},
        )
        import django

        django.setup()
        yield
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def analyze(*tables: str) -> None:
    """Fresh planner statistics after a bulk load, as autovacuum would give them later."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


def draft_run(process, parameters: dict, *, name: str, code: str, as_of, **fields):
    """A draft run of a new definition of ``process`` (validated ``parameters``) on the
    default server, as the scheduler would fire it: what ``engine.execute`` then processes.
    ``fields`` are more definition fields (``log_level``, ``notify_on_completion``)."""
    from nightshift.runs.models import ApplicationServer, ProcessRun, RunDefinition

    server = ApplicationServer.default()
    definition = RunDefinition.objects.create(
        process_key=process.key,
        name=name,
        unified_code=code,
        parameters=process.validate_parameters(parameters),
        schedule={"mode": "now"},
        server=server,
        **fields,
    )
    return ProcessRun.objects.create(
        definition=definition, process_key=process.key, server=server, as_of=as_of
    )


def insert_rows(model, names: Sequence[str], rows) -> int:
    """Load rows fast before timing: ``nightshift.core.bulk.insert_rows`` (COPY on PostgreSQL,
    ``executemany`` elsewhere), imported here once Django is set up."""
    from nightshift.core.bulk import insert_rows as insert

    return insert(model, names, rows)
