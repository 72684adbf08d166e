"""Benchmark of data archiving: purchase customer events older than 12 months, each with two
awarded events and one spend reward transaction, archived by a real archive run
(``engine.execute`` of the ``archive_data`` process: serialise, compress, store, read back,
verify, delete — one transaction per chunk).

Figures: rows per second (parents and children together), compressed size against the
uncompressed JSON Lines, peak RSS of the run; in the same run, on samples of their own:

- the per-row ORM baseline: for each event, load it and its children, serialise them with
  Django's JSON serializer, delete them through the ORM; one compressed chunk per batch;
- the raw limit: ``WITH moved AS (DELETE … RETURNING *) INSERT INTO copy SELECT * FROM moved``
  per table and batch, uncompressed, on PostgreSQL (on SQLite, which has no DELETE in a WITH,
  ``INSERT … SELECT`` then ``DELETE``, in one transaction per batch).

Targets: ≥ 50,000 rows/s on PostgreSQL and ≥ 20,000 on SQLite, compressed ≤ 1/8 of the
JSON Lines, peak RSS < 300 MB.

    .venv/bin/python bench/archiving.py [--backend pg|sqlite] [--events 1000000]
                                        [--baseline 5000] [--raw 200000] [--batch-size N]

PostgreSQL runs on a scratch database it creates and drops (``NIGHTSHIFT_BENCH_PG``); SQLite on
a file in a temporary directory. The events are loaded with COPY on PostgreSQL and with
``executemany`` on SQLite before anything is timed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time

from _common import (
    ROOT,
    django_on,
    draft_run,
    peak_rss_mb,
    reset_peak_rss,
    rss_mb,
    scratch_database,
    sqlite_database,
    target,
)

RATE_TARGET = {"postgresql": 50_000, "sqlite": 20_000}  # rows per second
RATIO_TARGET = 8.0
RSS_TARGET_MB = 300
CHILDREN = 3  # two awarded events and one spend reward transaction per event
AGE = dt.timedelta(days=800)  # well beyond the 12-month cut-off


def load(counts: dict[str, int]) -> int:
    """``counts[kind]`` old events of each kind, each with its children. Returns rows."""
    from django.db import connection, transaction
    from django.utils import timezone

    from nightshift.crm.models import (
        AwardedEvent,
        Contact,
        CustomerEvent,
        RewardParticipant,
        RewardScheme,
        SpendRewardTransaction,
    )

    old = timezone.now() - AGE
    with transaction.atomic():
        contact = Contact.objects.create(code="BENCH", first_name="Bench", email="b@example.com")
        scheme = RewardScheme.objects.create(code="BENCH", name="Bench points")
        participant = RewardParticipant.objects.create(
            scheme=scheme, contact=contact, joined_on=dt.date(2020, 1, 1)
        )
    rows = 0
    next_id = 1
    for kind, count in counts.items():
        first = next_id
        next_id += count
        ids = range(first, first + count)

        # Every row differs (its own instant, amount, points), as real events do: repeated
        # values would flatter the compression.
        def at(pk: int) -> dt.datetime:
            return old - dt.timedelta(seconds=pk * 7, microseconds=pk * 7919 % 1_000_000)

        def events(ids=ids, kind=kind):
            for pk in ids:
                yield (
                    pk,
                    kind,
                    f"{kind[:2].upper()}-{pk:09d}",
                    contact.pk,
                    at(pk),
                    f"{pk * 7919 % 50000 / 100 + 1:.2f}",
                    "EUR",
                    f"INV-{pk // 7:08d}",
                    f"Purchase of item {pk * 31 % 5003} at store {pk % 37}",
                    at(pk),
                    at(pk),
                )

        def awarded(ids=ids):
            for pk in ids:
                for n in (1, 2):
                    yield (pk, participant.pk, f"{pk * n % 997 / 10:.2f}", at(pk), at(pk), at(pk))

        def spent(ids=ids):
            for pk in ids:
                yield (pk, participant.pk, f"{pk % 89 + 1}.00", at(pk), at(pk), at(pk))

        with transaction.atomic():
            rows += insert(
                CustomerEvent,
                [
                    "id",
                    "kind",
                    "reference",
                    "contact",
                    "occurred_at",
                    "amount",
                    "currency",
                    "invoice_code",
                    "description",
                    "created_at",
                    "updated_at",
                ],
                events(),
            )
            rows += insert(
                AwardedEvent,
                [
                    "customer_event",
                    "participant",
                    "points",
                    "awarded_at",
                    "created_at",
                    "updated_at",
                ],
                awarded(),
            )
            rows += insert(
                SpendRewardTransaction,
                ["customer_event", "participant", "points", "spent_at", "created_at", "updated_at"],
                spent(),
            )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('crm_customerevent', 'id'), %s)", [next_id]
            )
            for table in ("crm_customerevent", "crm_awardedevent", "crm_spendrewardtransaction"):
                cursor.execute(f"ANALYZE {table}")
    return rows


def insert(model, names, rows) -> int:
    from django.db import connection

    if connection.vendor == "postgresql":
        from _common import insert_rows

        return insert_rows(model, names, rows)
    meta = model._meta
    given = [meta.get_field(name) for name in names]
    rest = [f for f in meta.concrete_fields if f not in given and not f.primary_key]
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in rest)
    columns = ", ".join(f.column for f in [*given, *rest])
    marks = ", ".join("?" for _ in [*given, *rest])
    count = 0
    batch = []
    with connection.cursor() as cursor:
        sql = f"INSERT INTO {meta.db_table} ({columns}) VALUES ({marks})"  # noqa: S608 — names from code
        for row in rows:
            batch.append(
                tuple(v.isoformat(" ") if isinstance(v, dt.datetime) else v for v in row) + defaults
            )
            if len(batch) == 10_000:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        cursor.executemany(sql, batch)
        count += len(batch)
    return count


def archive_run(entity: str, batch_size: int):
    """An archive run of ``entity`` executed by the engine: (run, archive, seconds, peak MB)."""
    from django.utils import timezone

    from nightshift.archiving.models import Archive
    from nightshift.archiving.processes import ArchiveData
    from nightshift.runs import engine

    run = draft_run(
        ArchiveData,
        {"entity": entity, "months": 12},
        name=f"Bench: archive {entity}",
        code="BENCH-ARCHIVE",
        as_of=timezone.localdate(),
        notify_on_completion=False,
    )
    reset_peak_rss()
    started = time.perf_counter()
    ended = engine.execute(run.pk, worker_id="bench", batch_size=batch_size)
    seconds = time.perf_counter() - started
    return ended, Archive.objects.get(run_number=run.pk), seconds, peak_rss_mb()


def per_row_baseline(kind: str, batch_size: int) -> tuple[int, float]:
    """Each event loaded, serialised with its children and deleted through the ORM, one row at
    a time; a compressed chunk per batch, one transaction per batch: (rows, seconds)."""
    import zstandard
    from django.core import serializers
    from django.db import transaction

    from nightshift.archiving.models import Archive, ArchiveChunk
    from nightshift.crm.models import CustomerEvent

    ids = list(CustomerEvent.objects.filter(kind=kind).order_by("pk").values_list("pk", flat=True))
    archive = Archive.objects.create(entity="baseline", months=12, cutoff=dt.datetime.now(dt.UTC))
    rows = 0
    started = time.perf_counter()
    for sequence, offset in enumerate(range(0, len(ids), batch_size), start=1):
        with transaction.atomic():
            parts = []
            for pk in ids[offset : offset + batch_size]:
                event = CustomerEvent.objects.get(pk=pk)
                children = [*event.awarded_events.all(), *event.spend_transactions.all()]
                parts.append(serializers.serialize("json", [event, *children]))
                for child in children:
                    child.delete()
                event.delete()
                rows += 1 + len(children)
            raw = "\n".join(parts).encode()
            ArchiveChunk.objects.create(
                archive=archive,
                sequence=sequence,
                first_key=0,
                last_key=0,
                rows={},
                row_count=0,
                uncompressed_bytes=len(raw),
                compressed_bytes=0,
                sha256="",
                data=zstandard.ZstdCompressor().compress(raw),
            )
    return rows, time.perf_counter() - started


def raw_limit(kind: str, batch_size: int) -> tuple[int, float]:
    """Moving the rows with one SQL statement per table and batch, uncompressed: (rows, s)."""
    from django.db import connection, transaction

    tables = ("crm_awardedevent", "crm_spendrewardtransaction")
    with connection.cursor() as cursor:
        for table in (*tables, "crm_customerevent"):
            if connection.vendor == "postgresql":
                cursor.execute(f"CREATE TABLE bench_{table} (LIKE {table})")
            else:
                cursor.execute(f"CREATE TABLE bench_{table} AS SELECT * FROM {table} WHERE 0")  # noqa: S608 — names from code
        cursor.execute("SELECT id FROM crm_customerevent WHERE kind = %s ORDER BY id", [kind])
        ids = [row[0] for row in cursor.fetchall()]
    rows = 0
    started = time.perf_counter()
    for offset in range(0, len(ids), batch_size):
        low, high = ids[offset], ids[min(offset + batch_size, len(ids)) - 1]
        parents = "SELECT id FROM crm_customerevent WHERE kind = %s AND id BETWEEN %s AND %s"
        with transaction.atomic(), connection.cursor() as cursor:
            for table in tables:
                rows += move(cursor, table, f"customer_event_id IN ({parents})", [kind, low, high])
            rows += move(
                cursor,
                "crm_customerevent",
                "kind = %s AND id BETWEEN %s AND %s",
                [kind, low, high],
            )
    return rows, time.perf_counter() - started


def move(cursor, table: str, where: str, params: list) -> int:
    from django.db import connection

    if connection.vendor == "postgresql":
        cursor.execute(
            f"WITH moved AS (DELETE FROM {table} WHERE {where} RETURNING *) "  # noqa: S608 — names from code
            f"INSERT INTO bench_{table} SELECT * FROM moved",
            params,
        )
        return cursor.rowcount
    cursor.execute(f"INSERT INTO bench_{table} SELECT * FROM {table} WHERE {where}", params)  # noqa: S608 — names from code
    moved = cursor.rowcount
    cursor.execute(f"DELETE FROM {table} WHERE {where}", params)  # noqa: S608 — names from code
    return moved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["pg", "sqlite"], default="pg")
    parser.add_argument("--events", type=int, default=None, help="default 1,000,000 (PG), 250,000")
    parser.add_argument("--baseline", type=int, default=5_000, help="events of the ORM baseline")
    parser.add_argument("--raw", type=int, default=None, help="events of the raw limit")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="default NIGHTSHIFT_BATCH_SIZE"
    )
    options = parser.parse_args()
    events = options.events or (1_000_000 if options.backend == "pg" else 250_000)
    raw = options.raw or max(events // 5, 1)

    database = scratch_database("archiving") if options.backend == "pg" else sqlite_database()
    with database as url, django_on(url):
        from django.conf import settings
        from django.db import connection

        batch_size = options.batch_size or settings.NIGHTSHIFT_BATCH_SIZE
        vendor = connection.vendor
        started = time.perf_counter()
        rows = load({"purchase": events, "referral": options.baseline, "achievement": raw})
        print(
            f"data archiving on {vendor}: {events:,} purchase events older than 12 months with "
            f"{CHILDREN} children each, chunks of {batch_size:,} events"
        )
        loaded = time.perf_counter() - started
        print(f"  loaded {rows:,} rows in {loaded:.1f} s; RSS {rss_mb():.0f} MB")

        run, archive, seconds, peak = archive_run("purchase_events", batch_size)
        if run.state != "completed" or archive.total_rows != events * (1 + CHILDREN):
            raise RuntimeError(f"run #{run.pk} ended {run.state}: {run.message}")
        rate = archive.total_rows / seconds
        ratio = archive.uncompressed_bytes / archive.compressed_bytes
        print(
            f"  archive run: {archive.total_rows:,} rows in {seconds:.1f} s = {rate:,.0f} rows/s; "
            f"{archive.uncompressed_bytes / 2**20:,.1f} MB of JSON Lines → "
            f"{archive.compressed_bytes / 2**20:,.1f} MB ({ratio:.1f}x); peak RSS {peak:.0f} MB"
        )
        base_rows, base_seconds = per_row_baseline("referral", batch_size)
        base_rate = base_rows / base_seconds
        print(
            f"  per-row ORM baseline: {base_rows:,} rows in {base_seconds:.1f} s = "
            f"{base_rate:,.0f} rows/s → the archive run is {rate / base_rate:.1f}x faster"
        )
        raw_rows, raw_seconds = raw_limit("achievement", batch_size)
        raw_rate = raw_rows / raw_seconds
        print(
            f"  raw limit (one SQL move per table and batch, uncompressed): {raw_rows:,} rows in "
            f"{raw_seconds:.1f} s = {raw_rate:,.0f} rows/s → the archive run reaches "
            f"{rate / raw_rate:.0%} of it"
        )
        print("targets:")
        print(
            target(
                "rows/s", f"{rate:,.0f}", f"≥ {RATE_TARGET[vendor]:,}", rate >= RATE_TARGET[vendor]
            )
        )
        print(
            target(
                "compression (JSON Lines / stored)",
                f"{ratio:.1f}x",
                f"≥ {RATIO_TARGET:.0f}x",
                ratio >= RATIO_TARGET,
            )
        )
        print(
            target(
                "peak RSS of the run",
                f"{peak:.0f} MB",
                f"< {RSS_TARGET_MB} MB",
                peak < RSS_TARGET_MB,
            )
        )


if __name__ == "__main__":
    if str(ROOT / "bench") not in sys.path:
        sys.path.insert(0, str(ROOT / "bench"))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    main()
