"""Benchmark of ``nightshift demo``: load time, rows per second and peak memory of one size,
and the ratio of the demo's tuple writer against Django's ``bulk_create`` on the same rows.

Runs on a scratch SQLite database in a temporary NIGHTSHIFT_VAR_DIR (never the real one):

    .venv/bin/python bench/demo_load.py [--size small|medium|large] [--seed 42]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

BASELINE_ROWS = 20_000  # customer events written both ways for the ratio


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def writer_ratio() -> tuple[float, float]:
    """Seconds to write BASELINE_ROWS customer events with bulk_create and with the Sink."""
    import datetime as dt
    from decimal import Decimal

    from django.db import transaction
    from django.utils import timezone

    from nightshift.crm.demo.generator import Row, Sink, _SilentReporter
    from nightshift.crm.models import Contact, CustomerEvent

    contact = Contact.objects.order_by("pk").first()
    now = timezone.now()

    def values(index: int, prefix: str) -> dict:
        when = now - dt.timedelta(minutes=index)
        return {
            "kind": "purchase",
            "reference": f"{prefix}-{index}",
            "contact_id": contact.pk,
            "occurred_at": when,
            "amount": Decimal("12.34"),
            "currency": "BRL",
            "created_at": when,
            "updated_at": when,
        }

    with transaction.atomic():
        started = time.perf_counter()
        for offset in range(0, BASELINE_ROWS, 5_000):
            rows = [CustomerEvent(**values(i, "ORM")) for i in range(offset, offset + 5_000)]
            CustomerEvent.objects.bulk_create(rows)
        orm = time.perf_counter() - started
        transaction.set_rollback(True)
    with transaction.atomic():
        sink = Sink(_SilentReporter())
        started = time.perf_counter()
        for index in range(BASELINE_ROWS):
            sink.add(Row(CustomerEvent, id=sink.new_id(CustomerEvent), **values(index, "SINK")))
        sink.flush()
        fast = time.perf_counter() - started
        transaction.set_rollback(True)
    return orm, fast


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=42)
    options = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="nightshift-bench-demo-"))
    os.environ["NIGHTSHIFT_VAR_DIR"] = str(scratch)
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nightshift.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from nightshift.crm.demo import generate_demo

    call_command("migrate", verbosity=0)
    before = peak_rss_mb()
    result = generate_demo(size=options.size, seed=options.seed)
    rows = sum(result.rows.values())
    print(f"demo --size {options.size} --seed {options.seed} on SQLite ({scratch})")
    print(f"  rows written     {rows:>12,}")
    print(f"  customer events  {result.rows['crm.CustomerEvent']:>12,}")
    print(f"  elapsed          {result.elapsed:>12.1f} s")
    print(f"  rows per second  {rows / result.elapsed:>12,.0f}")
    print(f"  peak RSS         {peak_rss_mb():>12.0f} MB (after migrate: {before:.0f} MB)")
    orm, fast = writer_ratio()
    print(f"writer, {BASELINE_ROWS:,} customer events:")
    print(f"  bulk_create      {orm:>12.2f} s")
    print(f"  demo Sink        {fast:>12.2f} s")
    print(f"  ratio            {orm / fast:>12.1f}x faster")
    connections.close_all()
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
