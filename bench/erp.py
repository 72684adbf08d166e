"""Benchmark of account complementary data on PostgreSQL: the routine over a million contacts
with the default ERP connector (the CRM's own purchase events, invoices and opportunities),
log level "success and errors" (a run item per contact).

Figures: contacts per second of ``engine.execute`` and its peak RSS, against a baseline
measured in the same run on a smaller sample: a per-record ORM loop (per contact: read it, its
purchase count and total, its first and last purchase, its last invoice and last quotation,
``save()`` it, create its run item), committing every batch like the engine so that only the
per-record work differs. Targets: at least 5,000 contacts/s, under 300 MB, at least 10x the
baseline.

The data is loaded with COPY before anything is timed: per four contacts, one never bought and
the others bought 1 to 6 times over three years; one contact in two has an invoice, one in five
an opportunity at the proposal stage.

Runs on a scratch database it creates and drops:

    .venv/bin/python bench/erp.py [--contacts 1000000] [--baseline 20000] [--batch-size N]

Sizes also come from NIGHTSHIFT_BENCH_CONTACTS and NIGHTSHIFT_BENCH_BASELINE.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from collections.abc import Iterator
from decimal import Decimal

from _common import (
    analyze,
    django_on,
    draft_run,
    insert_rows,
    peak_rss_mb,
    reset_peak_rss,
    rss_mb,
    scratch_database,
    target,
)

AS_OF = dt.date(2026, 11, 22)
# Contacts per second. Writing a contact row is most of the cost: about 170 µs of index
# maintenance (thirteen indexes on crm_contact, no HOT update on a freshly loaded table).
RATE_TARGET = 5_000
RSS_TARGET_MB = 300
RATIO_TARGET = 10.0
HISTORY_DAYS = 3 * 365


def load(contacts: int) -> dict[str, int]:
    """Contacts with purchases, invoices and quotations, all with COPY in one transaction."""
    from django.core.management.color import no_style
    from django.db import connection, transaction
    from django.utils import timezone

    from nightshift.crm.choices import CustomerEventKind, InvoiceState, OpportunityStage
    from nightshift.crm.models import Contact, CustomerEvent, Invoice, Opportunity

    zone = timezone.get_default_timezone()

    def moment(days_ago: int, index: int) -> dt.datetime:
        day = AS_OF - dt.timedelta(days=days_ago)
        return dt.datetime.combine(day, dt.time(8 + index % 10), tzinfo=zone)

    def contact_rows() -> Iterator[tuple]:
        for index in range(contacts):
            yield index + 1, f"CUS-{index:08d}", f"Nome {index}", f"Família {index % 997}"

    def purchase_rows() -> Iterator[tuple]:
        number = 0
        for index in range(contacts):
            bought = (index * 7919) % 7 if index % 4 else 0
            for purchase in range(bought):
                number += 1
                days_ago = (index * 31 + purchase * 173) % HISTORY_DAYS
                yield (
                    CustomerEventKind.PURCHASE,
                    f"PUR-{number:09d}",
                    index + 1,
                    moment(days_ago, index),
                    Decimal(10 + (index + purchase) % 900) + Decimal("0.90"),
                    "BRL",
                    f"NF-{number:09d}",
                )

    def invoice_rows() -> Iterator[tuple]:
        for index in range(0, contacts, 2):
            amount = Decimal(50 + index % 500)
            days_ago = index % HISTORY_DAYS
            issued = AS_OF - dt.timedelta(days=days_ago)
            yield (f"INV-{index:09d}", index + 1, InvoiceState.SETTLED, issued, amount, 0)

    def opportunity_rows() -> Iterator[tuple]:
        for index in range(0, contacts, 5):
            when = moment(index % 400, index)
            yield (f"OPP-{index:09d}", "Proposta", index + 1, OpportunityStage.PROPOSAL, when)

    loaded = {}
    with transaction.atomic():
        loaded["contacts"] = insert_rows(
            Contact, ["id", "code", "first_name", "last_name"], contact_rows()
        )
        loaded["purchases"] = insert_rows(
            CustomerEvent,
            [
                "kind",
                "reference",
                "contact_id",
                "occurred_at",
                "amount",
                "currency",
                "invoice_code",
            ],
            purchase_rows(),
        )
        loaded["invoices"] = insert_rows(
            Invoice,
            ["code", "contact_id", "state", "issued_on", "amount", "balance"],
            invoice_rows(),
        )
        loaded["quotations"] = insert_rows(
            Opportunity, ["code", "name", "contact_id", "stage", "updated_at"], opportunity_rows()
        )
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [Contact]):
            cursor.execute(sql)
    analyze("crm_contact", "crm_customerevent", "crm_invoice", "crm_opportunity")
    return loaded


def new_run():
    """A draft run of an account complementary data definition logging successes too."""
    from nightshift.processes.builtin.account_complementary_data import AccountComplementaryData
    from nightshift.runs.models import LogLevel, ProcessRun

    return draft_run(
        AccountComplementaryData,
        {},
        name="Bench: account complementary data",
        code=f"BENCHERP{ProcessRun.objects.count()}",
        as_of=AS_OF,
        log_level=LogLevel.ALL,
    )


def per_record_baseline(sample: int, batch_size: int) -> tuple[int, float]:
    """The per-record ORM loop over the first ``sample`` contacts: (records, seconds)."""
    from django.db import transaction
    from django.db.models import Count, F, Sum
    from django.utils import timezone

    from nightshift.crm.choices import CustomerEventKind, InvoiceState
    from nightshift.crm.models import Contact
    from nightshift.erp.connectors.crm import QUOTED_STAGES
    from nightshift.runs.models import ProcessRun, RunItem, RunState

    run = new_run()
    started = time.perf_counter()
    ids = list(Contact.objects.order_by("pk").values_list("pk", flat=True)[:sample])
    for offset in range(0, len(ids), batch_size):
        chunk = ids[offset : offset + batch_size]
        with transaction.atomic():
            for pk in chunk:
                contact = Contact.objects.select_for_update().get(pk=pk)
                purchases = contact.customer_events.filter(kind=CustomerEventKind.PURCHASE)
                totals = purchases.aggregate(total=Sum("amount"), count=Count("pk"))
                first = purchases.order_by("occurred_at", "pk").first()
                last = purchases.order_by("-occurred_at", "-pk").first()
                invoice = (
                    contact.invoices.exclude(state=InvoiceState.CANCELLED)
                    .order_by("-issued_on", "-pk")
                    .first()
                )
                quoted = (
                    contact.opportunities.filter(stage__in=QUOTED_STAGES)
                    .order_by("-updated_at")
                    .first()
                )
                last_day = timezone.localdate(last.occurred_at) if last else None
                contact.first_purchase_date = (
                    timezone.localdate(first.occurred_at) if first else None
                )
                contact.first_purchase_amount = first.amount if first else None
                contact.last_purchase_date = last_day
                contact.last_purchase_amount = last.amount if last else None
                contact.accumulated_purchase_amount = totals["total"] or Decimal(0)
                contact.accumulated_purchase_count = totals["count"]
                contact.last_quotation_date = (
                    timezone.localdate(quoted.updated_at) if quoted else None
                )
                contact.days_since_last_purchase = (AS_OF - last_day).days if last_day else None
                contact.last_invoice_code = (
                    invoice.code if invoice else (last.invoice_code if last else "")
                )
                contact.complementary_data_updated_at = timezone.now()
                contact.save()
                RunItem.objects.create(run=run, record_id=pk, ok=True, message="updated")
            ProcessRun.objects.filter(pk=run.pk).update(
                processed=F("processed") + len(chunk), succeeded=F("succeeded") + len(chunk)
            )
    seconds = time.perf_counter() - started
    ProcessRun.objects.filter(pk=run.pk).update(state=RunState.COMPLETED)
    return len(ids), seconds


def engine_run(batch_size: int | None) -> tuple[object, float, float]:
    """``engine.execute`` over every contact: (run, seconds, peak RSS in MB)."""
    from nightshift.runs import engine

    run = new_run()
    reset_peak_rss()
    started = time.perf_counter()
    ended = engine.execute(run.pk, worker_id="bench", batch_size=batch_size)
    seconds = time.perf_counter() - started
    return ended, seconds, peak_rss_mb()


def check(run, contacts: int, purchases: int) -> dict[str, int]:
    """Every contact has one run item, and the figures add up to the purchases loaded."""
    from django.db.models import Sum

    from nightshift.crm.models import Contact
    from nightshift.runs.models import RunItem, RunState

    items = RunItem.objects.filter(run=run).count()
    figures = Contact.objects.aggregate(purchases=Sum("accumulated_purchase_count"))
    if run.state != RunState.COMPLETED or not (run.processed == items == contacts):
        raise RuntimeError(
            f"run #{run.pk} ended {run.state} with {run.processed} processed and {items} items "
            f"for {contacts} contacts: {run.message}"
        )
    if figures["purchases"] != purchases:
        raise RuntimeError(f"{figures['purchases']} purchases counted, {purchases} loaded")
    return {"items": items, "purchases": figures["purchases"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--contacts", type=int, default=int(os.environ.get("NIGHTSHIFT_BENCH_CONTACTS", "1000000"))
    )
    parser.add_argument(
        "--baseline", type=int, default=int(os.environ.get("NIGHTSHIFT_BENCH_BASELINE", "20000"))
    )
    parser.add_argument(
        "--batch-size", type=int, default=None, help="default: NIGHTSHIFT_BATCH_SIZE"
    )
    options = parser.parse_args()

    with scratch_database("erp") as url, django_on(url):
        from django.conf import settings

        settings.NIGHTSHIFT_ERP_CONNECTOR = "crm"
        batch_size = options.batch_size or settings.NIGHTSHIFT_BATCH_SIZE
        started = time.perf_counter()
        loaded = load(options.contacts)
        print(
            "account complementary data on PostgreSQL, CRM connector, log level “success and "
            f"errors”, batches of {batch_size:,}"
        )
        print(
            f"  loaded with COPY in {time.perf_counter() - started:.1f} s: "
            + ", ".join(f"{count:,} {what}" for what, count in loaded.items())
        )

        sample, baseline_seconds = per_record_baseline(options.baseline, batch_size)
        baseline_rate = sample / baseline_seconds
        rss_before = rss_mb()
        run, seconds, peak = engine_run(options.batch_size)
        outcome = check(run, options.contacts, loaded["purchases"])
        rate = run.processed / seconds
        ratio = rate / baseline_rate

        print(f"  {'':<30}{'contacts':>11}  {'seconds':>8}  {'contacts/s':>10}")
        print(
            f"  {'per-record ORM loop':<30}{sample:>11,}  {baseline_seconds:>8.1f}  "
            f"{baseline_rate:>10,.0f}   ({options.contacts:,} would take "
            f"{options.contacts / baseline_rate / 60:.0f} min)"
        )
        print(f"  {'engine.execute':<30}{run.processed:>11,}  {seconds:>8.1f}  {rate:>10,.0f}")
        print(f"  ratio {ratio:.1f}x faster")
        print(
            f"  run #{run.pk} {run.state}: {outcome['items']:,} run items, "
            f"{outcome['purchases']:,} purchases summed"
        )
        print(f"  peak RSS during the run {peak:.0f} MB (RSS before it {rss_before:.0f} MB)")
        print("targets:")
        print(
            target(
                "engine contacts per second",
                f"{rate:,.0f}/s",
                f">= {RATE_TARGET:,}/s",
                rate >= RATE_TARGET,
            )
        )
        print(
            target(
                "engine peak RSS", f"{peak:.0f} MB", f"< {RSS_TARGET_MB} MB", peak < RSS_TARGET_MB
            )
        )
        print(
            target(
                "engine vs per-record ORM loop",
                f"{ratio:.1f}x",
                f">= {RATIO_TARGET:g}x",
                ratio >= RATIO_TARGET,
            )
        )


if __name__ == "__main__":
    main()
