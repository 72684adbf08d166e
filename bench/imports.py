"""Benchmark of imports: a contacts file of N rows (1 % bad: e-mails, dates, repeated codes),
as CSV and as XLSX, imported end to end — upload, read, map, validate, upsert, error file —
by the ``imports.file`` process executed by the engine, on PostgreSQL and on SQLite. The XLSX
is written two ways: with inline strings (``xlsx``, as streaming writers write it) and with
shared strings (``xlsx-shared``, as Excel and LibreOffice save every workbook: one table of
the distinct texts, which the cells point into).

Figures per database and format: rows per second end to end, and peak RSS during the import.
Baselines measured in the same run, on the same file and model:

- a per-row ORM loop (``update_or_create`` per row, the file read with ``csv.DictReader``) on
  a sample of the rows;
- django-import-export (``ModelResource`` with ``import_id_fields = ["code"]``) on the same
  file — its first 100,000 rows at most (``--iex-rows``): at its few hundred rows a second, a
  million rows would take an hour (the ``bench`` extra installs it: ``make bench`` or
  ``pip install -e '.[bench]'``);
- the raw limit: ``executemany`` of the parsed rows into a bare table (SQLite) or ``COPY`` of
  the file's text into a bare table (PostgreSQL) — no validation at all;
- the table's limit: the good rows, parsed but unchecked, written into ``crm_contact`` itself
  (its indexes and all) by ``COPY`` / ``executemany`` in batches of 10,000 — what the database
  alone costs an import of these contacts.

Targets: CSV ≥ 50,000 rows/s on PostgreSQL and ≥ 40,000 on SQLite, XLSX ≥ 30,000 rows/s,
peak < 250 MB at 1,000,000 rows, ≥ 50x django-import-export.

    .venv/bin/python bench/imports.py [--rows 100000] [--databases postgresql,sqlite]
                                      [--formats csv,xlsx,xlsx-shared] [--sample 5000]
                                      [--iex-rows 100000] [--repeat 1]

Each database is measured in a child process of its own (Django is set up once per process);
PostgreSQL on a scratch database (NIGHTSHIFT_BENCH_PG) created and dropped here, SQLite on a
scratch file.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

from _common import (
    ChildrenPeak,
    django_on,
    peak_rss_mb,
    reset_peak_rss,
    scratch_database,
    target,
)

HEADER = [
    "Code",
    "First name",
    "Last name",
    "E-mail",
    "Phone",
    "Birth date",
    "City",
    "Zip code",
    "Country",
    "Status",
]
BAD_EVERY = 100  # one row in a hundred is bad
TARGETS = {("postgresql", "csv"): 50_000, ("sqlite", "csv"): 40_000}
XLSX_TARGET = 30_000
FORMATS = ("csv", "xlsx", "xlsx-shared")
RSS_TARGET_MB = 250
IEX_RATIO_TARGET = 50.0
CITIES = ["Recife", "São Paulo", "Lisboa", "Porto", "Niterói", "Curitiba", "Coimbra"]


def rows(count: int, seed: int = 7):
    """The file's rows: one in a hundred is bad, at random (so that batches lose different
    numbers of rows, as in a real file), in turn a bad e-mail, a bad date and a code
    repeating an earlier row's."""
    rng = random.Random(seed)
    bad = 0
    for n in range(count):
        code = f"C{n:08d}"
        email = f"person{n}@example.com"
        born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(20000))
        birth = born.isoformat()
        if n >= 7 and rng.randrange(BAD_EVERY) == 0:
            kind, bad = bad % 3, bad + 1
            if kind == 0:
                email = f"person{n}.example.com"
            elif kind == 1:
                birth = f"{born.year}-02-31"
            else:
                code = f"C{n - 7:08d}"
        yield [
            code,
            f"First{n}",
            f"Last{n}",
            email,
            f"0{rng.randrange(10**9, 10**10)}",
            birth,
            rng.choice(CITIES),
            f"{rng.randrange(10**5):05d}-000",
            "BR",
            "active",
        ]


def write_csv(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER)
        writer.writerows(rows(count))


def write_xlsx(path: Path, count: int, *, shared: bool = False) -> None:
    """Inline strings (xlsxwriter's constant-memory mode), or ``shared`` strings numbered in
    the order cells first use them, as Excel saves a workbook (xlsxwriter holds the whole
    sheet meanwhile: about 2 GB and 100 s for a million rows)."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": not shared})
    sheet = workbook.add_worksheet("Contacts")
    sheet.write_row(0, 0, HEADER)
    for line, row in enumerate(rows(count), start=1):
        for column, value in enumerate(row):
            sheet.write_string(line, column, value)
    workbook.close()


# -- measured in a child process per database ---------------------------------------------


def _user():
    from django.contrib.auth.models import User

    from nightshift.core.roles import sync_role_groups

    sync_role_groups()
    user, _ = User.objects.get_or_create(username="bench", defaults={"email": "b@example.com"})
    user.is_superuser = True
    user.save()
    return user


def _reset_contacts() -> None:
    from django.db import connection

    from nightshift.crm.models import Contact

    table = connection.ops.quote_name(Contact._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A million rows' DELETE checks every referring table per row: minutes.
            cursor.execute(f"TRUNCATE {table} CASCADE")
        else:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 — the model's table name


def measure_import(path: Path, user) -> dict:
    """Upload, start and execute one import, timed from the upload to the run's end."""
    from django.db import close_old_connections

    from nightshift.imports import actions
    from nightshift.runs import engine
    from nightshift.runs.models import ApplicationServer, SchedulerState
    from nightshift.runs.scheduler import fire_task_now
    from nightshift.runs.workers import registered

    SchedulerState.objects.update_or_create(pk=1, defaults={"running": True})
    _warm_up()
    _reset_contacts()
    reset_peak_rss()
    started, cpu = time.perf_counter(), time.process_time()
    with path.open("rb") as stream:
        upload = actions.upload_file(user=user, stream=stream, name=path.name)
    task = actions.start_import(
        user=user, entity="contacts", upload_id=upload.pk, notify_on_completion=False
    )
    run = fire_task_now(task)
    # Only an .xlsx import may start a reader process: a CSV import runs without the watch.
    watch = ChildrenPeak("reader_process") if path.suffix == ".xlsx" else None
    with registered(ApplicationServer.default()) as worker_id, watch or nullcontext():
        run = engine.execute(run.pk, worker_id=worker_id)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    summary = run.summary()
    # As the worker after each task: on SQLite (connections not kept) the connection closes,
    # and with it the statements SQLite compiled for the import (tens of MB).
    close_old_connections()
    return {
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "rows": summary["rows"],
        "created": summary["created"],
        "rejected": summary["rejected"],
        "state": summary["state"],
        "rate": summary["rows"] / elapsed,
        "peak_mb": peak_rss_mb(),
        "reader_mb": watch.mb if watch else 0,  # the .xlsx worksheet reader process
    }


def _warm_up() -> None:
    """What a running worker has loaded once for all: URL patterns, country names."""
    from django.urls import reverse

    from nightshift.imports.conversion import _countries

    reverse("runs:run", args=[1])
    _countries()


def measure_orm_loop(path: Path, sample: int) -> float:
    """Rows/s of a per-row ORM loop: ``update_or_create`` per row, one transaction."""
    from django.db import transaction

    from nightshift.crm.models import Contact

    _reset_contacts()
    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as stream, transaction.atomic():
        for n, row in enumerate(csv.DictReader(stream)):
            if n >= sample:
                break
            try:
                birth = dt.date.fromisoformat(row["Birth date"])
            except ValueError:
                continue
            Contact.objects.update_or_create(
                code=row["Code"],
                defaults={
                    "first_name": row["First name"],
                    "last_name": row["Last name"],
                    "email": row["E-mail"],
                    "phone": row["Phone"],
                    "birth_date": birth,
                    "city": row["City"],
                    "zip_code": row["Zip code"],
                    "country": row["Country"],
                },
            )
    return sample / (time.perf_counter() - started)


def measure_import_export(path: Path, sample: int) -> float | None:
    """Rows/s of django-import-export on the first ``sample`` rows, or None if it is not
    installed."""
    try:
        import tablib
        from import_export import fields, resources
    except ImportError:
        return None
    from nightshift.crm.models import Contact

    class ContactResource(resources.ModelResource):
        code = fields.Field(attribute="code", column_name="Code")
        first_name = fields.Field(attribute="first_name", column_name="First name")
        last_name = fields.Field(attribute="last_name", column_name="Last name")
        email = fields.Field(attribute="email", column_name="E-mail")
        phone = fields.Field(attribute="phone", column_name="Phone")
        birth_date = fields.Field(
            attribute="birth_date", column_name="Birth date", widget=_date_widget()
        )
        city = fields.Field(attribute="city", column_name="City")
        zip_code = fields.Field(attribute="zip_code", column_name="Zip code")
        country = fields.Field(attribute="country", column_name="Country")

        class Meta:
            model = Contact
            import_id_fields = ["code"]
            fields = (
                "code",
                "first_name",
                "last_name",
                "email",
                "phone",
                "birth_date",
                "city",
                "zip_code",
                "country",
            )

    with path.open(encoding="utf-8") as stream:
        lines = [next(stream) for _ in range(sample + 1)]
    _reset_contacts()
    started = time.perf_counter()
    dataset = tablib.Dataset().load("".join(lines), format="csv")
    ContactResource().import_data(dataset, dry_run=False, raise_errors=False)
    return sample / (time.perf_counter() - started)


def _date_widget():
    from import_export.widgets import DateWidget

    return DateWidget(format="%Y-%m-%d")


def measure_raw(path: Path, vendor: str) -> float:
    """Rows/s of the raw limit: the file's rows into a bare table, no checks."""
    from django.db import connection, transaction

    columns = ", ".join(f"c{i} text" for i in range(len(HEADER)))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE raw_limit ({columns})")
        started = time.perf_counter()
        if vendor == "postgresql":
            with (
                path.open("rb") as stream,
                cursor.cursor.copy(
                    "COPY raw_limit FROM STDIN WITH (FORMAT csv, HEADER true)"
                ) as copy,
            ):
                while chunk := stream.read(1 << 20):
                    copy.write(chunk)
            count = None
        else:
            with path.open(encoding="utf-8", newline="") as stream:
                reader = csv.reader(stream)
                next(reader)
                data = list(reader)
            placeholders = ", ".join(["%s"] * len(HEADER))
            cursor.executemany(f"INSERT INTO raw_limit VALUES ({placeholders})", data)  # noqa: S608
            count = len(data)
        elapsed = time.perf_counter() - started
        if count is None:
            cursor.execute("SELECT count(*) FROM raw_limit")
            count = cursor.fetchone()[0]
        cursor.execute("DROP TABLE raw_limit")
    return count / elapsed


def measure_table_limit(path: Path) -> float:
    """Rows/s of the database's own limit for this table: the file's good rows, parsed but not
    checked, written into ``crm_contact`` (its indexes and all) with the fastest statement the
    database has — COPY on PostgreSQL, ``executemany`` on SQLite — in transactions of 10,000
    rows, as the import's batches. Every column is written, as the import writes them, and
    the statements' input (COPY text, parameter tuples) is made before the clock starts: only
    the database is timed."""
    from django.db import connection, transaction

    from nightshift.core.bulk import Same, copy_text
    from nightshift.crm.models import Contact

    names = ("code", "first_name", "last_name", "email", "phone", "birth_date", "city")
    names += ("zip_code", "country", "status")
    good, seen = [], set()
    with path.open(encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream)
        next(reader)
        for row in reader:
            try:
                row[5] = dt.date.fromisoformat(row[5])
            except ValueError:
                continue
            if row[0] not in seen and "@" in row[3]:
                seen.add(row[0])
                good.append(row)
    meta = Contact._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    now = dt.datetime.now(tz=dt.UTC)
    defaults = {f.name: now if f.name.endswith("_at") else f.get_default() for f in fields}
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    table = quote(meta.db_table)
    batches = []
    for start in range(0, len(good), 10_000):
        rows = good[start : start + 10_000]
        given = [list(column) for column in zip(*rows, strict=True)]
        by_name = dict(zip(names, given, strict=True))
        if connection.vendor == "postgresql":
            batch = [by_name.get(f.name, Same(defaults[f.name])) for f in fields]
            batches.append(copy_text(batch, len(rows)))
        else:
            prepared = [
                [f.get_db_prep_save(value, connection) for value in by_name[f.name]]
                if f.name in by_name
                else [f.get_db_prep_save(defaults[f.name], connection)] * len(rows)
                for f in fields
            ]
            batches.append(list(zip(*prepared, strict=True)))
    placeholders = ", ".join(["%s"] * len(fields))
    _reset_contacts()
    started = time.perf_counter()
    for batch in batches:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    copy.write(batch)
            else:
                cursor.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",  # noqa: S608
                    batch,
                )
    return len(good) / (time.perf_counter() - started)


def child(vendor: str, files: dict[str, str], sample: int, iex_rows: int, repeat: int) -> dict:
    from django.db import connection

    user = _user()
    figures: dict = {"vendor": connection.vendor}
    for fmt, name in files.items():
        runs = [measure_import(Path(name), user) for _ in range(repeat)]
        runs.sort(key=lambda r: r["rate"])
        figures[fmt] = runs[len(runs) // 2]  # the median run
    csv_path = Path(files.get("csv") or next(iter(files.values())))
    if csv_path.suffix == ".csv":
        figures["orm_loop"] = measure_orm_loop(csv_path, sample)
        figures["import_export"] = measure_import_export(csv_path, iex_rows)
        figures["raw"] = measure_raw(csv_path, vendor)
        figures["table_limit"] = measure_table_limit(csv_path)
    return figures


def run_child(args: argparse.Namespace) -> None:
    files = json.loads(args.files)
    if args.child == "postgresql":
        with scratch_database("imports") as url, django_on(url):
            result = child("postgresql", files, args.sample, args.iex_rows, args.repeat)
    else:
        folder = tempfile.mkdtemp(prefix="nightshift-bench-sqlite-")
        with django_on(f"sqlite:///{folder}/bench.sqlite3"):
            result = child("sqlite", files, args.sample, args.iex_rows, args.repeat)
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")


# -- the parent: files, children, report ----------------------------------------------------


def report(count: int, results: dict[str, dict], sample: int, iex_rows: int) -> None:
    out = sys.stdout.write
    lines = []
    for vendor, figures in results.items():
        out(f"\n{vendor} — {count:,} contacts, 1 % bad rows\n")
        for fmt in FORMATS:
            if fmt not in figures:
                continue
            f = figures[fmt]
            reader = f.get("reader_mb", 0)
            memory = f["peak_mb"] + reader  # the import's process and its reader process
            out(
                f"  {fmt:<11} end to end {f['rate']:>10,.0f} rows/s  ({f['seconds']:.1f} s; "
                f"{f['rows'] / f['cpu_seconds']:,.0f} rows per CPU second of this process; "
                f"created {f['created']:,}, rejected {f['rejected']:,}, state {f['state']}), "
                f"peak RSS {f['peak_mb']:.0f} MB"
                + (f" + {reader:.0f} MB its worksheet reader process\n" if reader else "\n")
            )
            goal = TARGETS.get((vendor, fmt), XLSX_TARGET if fmt != "csv" else None)
            if goal:
                lines.append(
                    target(
                        f"{vendor} {fmt} rows/s",
                        f"{f['rate']:,.0f}",
                        f">= {goal:,}",
                        f["rate"] >= goal,
                    )
                )
            lines.append(
                target(
                    f"{vendor} {fmt} peak RSS (MB, with the reader process)",
                    f"{memory:.0f}",
                    f"< {RSS_TARGET_MB}",
                    memory < RSS_TARGET_MB,
                )
            )
        if "orm_loop" not in figures:
            continue
        ours = figures["csv"]["rate"]
        out(
            f"  per-row ORM loop ({sample:,} rows)   {figures['orm_loop']:>10,.0f} rows/s   "
            f"ours x{ours / figures['orm_loop']:.0f}\n"
        )
        iex = figures["import_export"]
        if iex is None:
            out(
                "  django-import-export                 not installed (pip install -e '.[bench]')\n"
            )
        else:
            out(
                f"  django-import-export ({iex_rows:,} rows) {iex:>10,.0f} rows/s   "
                f"ours x{ours / iex:.0f}\n"
            )
            lines.append(
                target(
                    f"{vendor} csv vs django-import-export",
                    f"x{ours / iex:.0f}",
                    f">= x{IEX_RATIO_TARGET:.0f}",
                    ours / iex >= IEX_RATIO_TARGET,
                )
            )
        raw = "COPY" if vendor == "postgresql" else "executemany"
        out(
            f"  raw {raw} limit                {figures['raw']:>12,.0f} rows/s   "
            f"ours at {ours / figures['raw']:.0%} of it (a bare table of text columns)\n"
        )
        out(
            f"  {raw} into crm_contact          {figures['table_limit']:>12,.0f} rows/s   "
            f"ours at {ours / figures['table_limit']:.0%} of it (the good rows, unchecked, "
            "into the real table and its indexes)\n"
        )
    out("\nTargets\n" + "\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows", type=int, default=int(os.environ.get("NIGHTSHIFT_BENCH_IMPORT_ROWS", "100000"))
    )
    parser.add_argument("--databases", default="postgresql,sqlite")
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--sample", type=int, default=5000, help="rows of the ORM loop")
    parser.add_argument(
        "--iex-rows", type=int, default=100_000, help="rows of django-import-export's import"
    )
    parser.add_argument("--repeat", type=int, default=1, help="imports per file; median kept")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--files", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args)
        return
    folder = Path(tempfile.mkdtemp(prefix="nightshift-bench-imports-"))
    files = {}
    for fmt in args.formats.split(","):
        started = time.perf_counter()
        if fmt == "csv":
            path = folder / f"contacts-{args.rows}.csv"
            write_csv(path, args.rows)
        else:
            shared = fmt == "xlsx-shared"
            path = folder / f"contacts-{args.rows}{'-shared' if shared else ''}.xlsx"
            write_xlsx(path, args.rows, shared=shared)
        sys.stdout.write(
            f"wrote {path.name} ({path.stat().st_size / 2**20:.0f} MB) in "
            f"{time.perf_counter() - started:.1f} s\n"
        )
        files[fmt] = str(path)
    sample, iex_rows = min(args.sample, args.rows), min(args.iex_rows, args.rows)
    results = {}
    for vendor in args.databases.split(","):
        command = [
            sys.executable,
            __file__,
            "--child",
            vendor,
            "--files",
            json.dumps(files),
            "--sample",
            str(sample),
            "--iex-rows",
            str(iex_rows),
            "--repeat",
            str(args.repeat),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit(f"the {vendor} measurement failed")
        results[vendor] = json.loads(line[len("RESULT ") :])
    report(args.rows, results, sample, iex_rows)
    for path in files.values():
        Path(path).unlink()
    folder.rmdir()


if __name__ == "__main__":
    main()
