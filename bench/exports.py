"""Benchmark of exports: contacts to CSV and XLSX through the export process, on PostgreSQL
(the targets) or SQLite (``--backend sqlite``, reported).

For each size (100,000 then 1,000,000 contacts, loaded with COPY before anything is timed) the
export process runs to its end under ``engine.execute`` exactly as a worker runs it (batches,
chunks written in each batch's transaction, the file finished in ``complete()``), with every
one of the contact's 29 columns, related codes joined. Figures: rows per second and the peak
RSS of each export (the peak is reset before it, so it is the export's own).

Baselines, measured in the same run on the first 100,000 contacts:

- CSV: a naive ORM loop, model instances (``select_related`` for the related codes) through
  ``csv.writer``, one ``writerow`` per contact;
- XLSX: the same instances through xlsxwriter with ``constant_memory`` (one ``write`` per cell);
- the ceiling (not an export): on PostgreSQL one ``COPY`` of the table's columns to CSV, on
  SQLite the table's rows through the raw cursor into ``csv.writer.writerows``.

Targets: at least 150,000 rows/s to CSV, 30,000 rows/s to XLSX, and memory flat as the row
count grows (the 1,000,000-row peak within 50 MB of the 100,000-row peak).

    .venv/bin/python bench/exports.py [--backend pg|sqlite] [--sizes 100000,1000000]
                                      [--baseline 100000] [--repeat 3]

The load average is printed before and after: the figures of a shared machine need it.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from _common import (
    django_on,
    insert_rows,
    peak_rss_mb,
    reset_peak_rss,
    scratch_database,
    sqlite_database,
    target,
)

CSV_TARGET = 150_000  # rows per second
XLSX_TARGET = 30_000
FLAT_MB = 50  # the peak at the largest size may exceed the smallest's by this much
CITIES = ["São Paulo", "Rio de Janeiro", "Lisboa", "Porto", "Belo Horizonte", "Curitiba"]


def load(start: int, stop: int) -> None:
    """Contacts ``start`` … ``stop - 1`` with most fields filled, a classification and a
    customer class on some, a formula-looking last name on one in a thousand."""
    from django.db import transaction

    from nightshift.crm.models import Contact, ContactClassification, CustomerClass

    vip, _ = ContactClassification.objects.get_or_create(name="VIP")
    gold, _ = CustomerClass.objects.get_or_create(code="GOLD", defaults={"name": "Gold"})
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)

    def rows() -> Iterator[tuple]:
        for n in range(start, stop):
            yield (
                f"C{n:08d}",
                f"Name{n}",
                "=1+1" if n % 1000 == 0 else f"Family {n % 997}",
                f"c{n}@example.com",
                f"+55 11 9{n % 100000000:08d}",
                dt.date(1950 + n % 50, 1 + n % 12, 1 + n % 28),
                f"Rua {n % 5000}, {n % 300}",
                CITIES[n % len(CITIES)],
                f"{n % 99999:05d}",
                "BR",
                "active" if n % 5 else "inactive",
                vip.pk if n % 3 == 0 else None,
                gold.pk if n % 7 == 0 else None,
                Decimal(n % 100000) / 100,
                n % 40,
                dt.date(2026, 1 + n % 10, 1 + n % 27),
                now,
                now,
            )

    names = [
        "code", "first_name", "last_name", "email", "phone", "birth_date", "address", "city",
        "zip_code", "country", "status", "classification", "customer_class",
        "accumulated_purchase_amount", "accumulated_purchase_count", "last_purchase_date",
        "created_at", "updated_at",
    ]  # fmt: skip
    with transaction.atomic():
        insert_rows(Contact, names, rows())


def export(user, file_type: str) -> tuple[float, float, object]:
    """One export of every contact to ``file_type``: seconds, peak MB, the run."""
    from nightshift.exports.actions import start_export
    from nightshift.runs import engine
    from nightshift.runs.models import ApplicationServer
    from nightshift.runs.workers import registered

    started = start_export(user=user, entity="contacts", file_type=file_type)
    reset_peak_rss()
    began = time.perf_counter()
    with registered(ApplicationServer.default()) as worker_id:
        run = engine.execute(started.run.pk, worker_id=worker_id)
    seconds = time.perf_counter() - began
    return seconds, peak_rss_mb(), run


def baseline_csv(limit: int) -> float:
    from nightshift.crm.models import Contact
    from nightshift.exports.registry import get_exporter

    names = get_exporter("contacts").column_names()
    related = {"classification": "name", "customer_class": "code", "account_manager": "username"}
    began = time.perf_counter()
    with tempfile.TemporaryFile("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(names)
        contacts = Contact.objects.select_related(*related).order_by("pk")[:limit]
        for contact in contacts.iterator(chunk_size=2000):
            row = []
            for name in names:
                value = getattr(contact, name)
                if name in related:
                    value = getattr(value, related[name]) if value is not None else ""
                row.append("" if value is None else value)
            writer.writerow(row)
    return limit / (time.perf_counter() - began)


def baseline_xlsx(limit: int) -> float:
    import xlsxwriter

    from nightshift.crm.models import Contact
    from nightshift.exports.registry import get_exporter

    names = get_exporter("contacts").column_names()
    related = {"classification": "name", "customer_class": "code", "account_manager": "username"}
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        book = xlsxwriter.Workbook(str(Path(scratch) / "b.xlsx"), {"constant_memory": True})
        sheet = book.add_worksheet()
        sheet.write_row(0, 0, names)
        contacts = Contact.objects.select_related(*related).order_by("pk")[:limit]
        for row, contact in enumerate(contacts.iterator(chunk_size=2000), start=1):
            for col, name in enumerate(names):
                value = getattr(contact, name)
                if name in related:
                    value = getattr(value, related[name]) if value is not None else None
                if isinstance(value, dt.datetime):
                    value = value.replace(tzinfo=None)
                if value is not None:
                    sheet.write(row, col, value)
        book.close()
    return limit / (time.perf_counter() - began)


def vacuum_analyze(table: str) -> None:
    """What autovacuum soon does to a bulk-loaded table (an insert-only table is vacuumed once
    a fifth of it is new): hint bits and the visibility map set, statistics fresh. Without it
    the first reads of every page write it back, and a key scan reads the heap, which a
    table in use does not."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(table)}")


def load_average() -> str:
    return "load average " + ", ".join(f"{value:.2f}" for value in os.getloadavg())


def raw_sqlite_limit(limit: int) -> float:
    """The ceiling on SQLite: the table's rows through the raw cursor into ``csv.writer``,
    no joins, no neutralising, nothing stored."""
    from django.db import connection

    began = time.perf_counter()
    with connection.cursor() as cursor, tempfile.TemporaryFile("w", newline="") as out:
        cursor.execute("SELECT * FROM crm_contact ORDER BY id LIMIT %s", [limit])
        writer = csv.writer(out)
        while rows := cursor.fetchmany(10_000):
            writer.writerows(rows)
    return limit / (time.perf_counter() - began)


def raw_copy_limit(limit: int) -> float:
    """The ceiling: PostgreSQL's own CSV of the contacts table's columns in one ``COPY``
    statement, no batches, no joins, no neutralising, nothing stored."""
    from django.db import connection

    began = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            "COPY (SELECT * FROM crm_contact ORDER BY id LIMIT %s) TO STDOUT WITH (FORMAT csv)",
            (limit,),
        ) as copy,
    ):
        for _data in copy:
            pass
    return limit / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="contact counts, ascending")
    parser.add_argument("--baseline", type=int, default=100_000, help="rows of the baselines")
    parser.add_argument("--repeat", type=int, default=3, help="exports per size and format")
    parser.add_argument("--backend", choices=["pg", "sqlite"], default="pg")
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]
    postgresql = options.backend == "pg"
    database = scratch_database("exports") if postgresql else sqlite_database()

    with database as url, django_on(url):
        from django.contrib.auth.models import User

        from nightshift.exports.models import ExportFile

        user = User.objects.create_superuser("bench", "bench@example.com", "x")
        loaded = 0
        results: dict[tuple[int, str], tuple[float, float]] = {}
        baselines: dict[str, float] = {}
        backend = "PostgreSQL" if postgresql else "SQLite"
        print(f"contacts export on {backend}, all 29 columns, through engine.execute")
        print(f"  {load_average()}")
        for size in sizes:
            began = time.perf_counter()
            load(loaded, size)
            if postgresql:
                vacuum_analyze("crm_contact")
            loaded = size
            loader = "COPY" if postgresql else "executemany"
            print(
                f"  {size:,} contacts loaded with {loader} in {time.perf_counter() - began:.1f} s"
            )
            if not baselines:
                sample = min(options.baseline, size)
                baselines["csv"] = baseline_csv(sample)
                baselines["xlsx"] = baseline_xlsx(sample)
                ceiling = raw_copy_limit(sample) if postgresql else raw_sqlite_limit(sample)
                print(
                    f"  baselines on {sample:,} rows: ORM loop + csv.writer "
                    f"{baselines['csv']:,.0f} rows/s; ORM loop + xlsxwriter constant_memory "
                    f"{baselines['xlsx']:,.0f} rows/s; "
                    + ("raw COPY of the table" if postgresql else "raw cursor + writerows")
                    + f" (ceiling) {ceiling:,.0f} rows/s"
                )
            for file_type in ("csv", "xlsx"):
                rates, peaks = [], []
                for _ in range(options.repeat):
                    seconds, peak, run = export(user, file_type)
                    assert run.state == "completed", run.message
                    assert run.succeeded == size, run.succeeded
                    file = ExportFile.objects.get(run=run)
                    rates.append(size / seconds)
                    peaks.append(peak)
                rate, peak = statistics.median(rates), max(peaks)
                results[size, file_type] = rate, peak
                print(
                    f"  {file_type:<5}{size:>11,} rows  median {rate:>9,.0f} rows/s  "
                    f"({baselines[file_type] and rate / baselines[file_type]:.1f}x the baseline)  "
                    f"peak RSS {peak:.0f} MB  file {file.size / 1e6:.0f} MB"
                )
        print(f"  {load_average()}")
        print("targets" + ("" if postgresql else " (set for PostgreSQL; SQLite is reported)") + ":")
        for file_type, goal in (("csv", CSV_TARGET), ("xlsx", XLSX_TARGET)):
            worst = min(results[size, file_type][0] for size in sizes)
            print(
                target(
                    f"{file_type.upper()} rows per second (slowest size)",
                    f"{worst:,.0f}/s",
                    f">= {goal:,}/s",
                    worst >= goal,
                )
            )
            low, high = results[sizes[0], file_type][1], results[sizes[-1], file_type][1]
            print(
                target(
                    f"{file_type.upper()} peak RSS {sizes[0]:,} → {sizes[-1]:,} rows",
                    f"{low:.0f} → {high:.0f} MB",
                    f"+<= {FLAT_MB} MB",
                    high - low <= FLAT_MB,
                )
            )


if __name__ == "__main__":
    main()
