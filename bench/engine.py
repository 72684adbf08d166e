"""Benchmark of the run engine on PostgreSQL: the short term deactivation process over a million
candidate subscriptions with log level "success and errors" (a run item per record).

Figures: records per second of ``engine.execute`` and its peak RSS, against a baseline
measured in the same run on a smaller sample: a per-record ORM loop (select one subscription,
its term and its contact's balance, save it, log one action and one run item at a time),
committing every batch like the engine so that only the per-record work differs. Targets:
at least 20,000 records/s, under 300 MB, at least 10x the baseline.

The candidates are loaded with COPY before anything is timed: one contact per two
subscriptions, a tenth of contacts with two posted invoices, one effective billing term per
subscription but for 1 % (those end as errors). About a tenth are deactivated.

Runs on a scratch database it creates and drops:

    .venv/bin/python bench/engine.py [--subscriptions 1000000] [--baseline 20000]
                                     [--batch-size N]

Sizes also come from NIGHTSHIFT_BENCH_SUBSCRIPTIONS and NIGHTSHIFT_BENCH_BASELINE.
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
    peak_rss_mb,
    reset_peak_rss,
    rss_mb,
    scratch_database,
    target,
)

AS_OF = dt.date(2026, 11, 22)  # the engine's run; the baseline runs on the day before
RATE_TARGET = 20_000  # records per second
RSS_TARGET_MB = 300
RATIO_TARGET = 10.0
SUBSCRIPTIONS_PER_CONTACT = 2
NO_TERM_EVERY = 100  # one subscription in this many has no effective term: an error outcome
INDEBTED_EVERY = 10  # one contact in this many owes money
TOLERANT_EVERY = 4  # one term in this many allows an unsettled balance up to 100.00


def load(subscriptions: int, baseline: int) -> dict[str, int]:
    """The candidates of the engine's run (ending on ``AS_OF``) and of the baseline (ending the
    day before), with their contacts, terms and invoices."""
    from _common import insert_rows
    from django.db import connection, transaction

    from nightshift.crm.choices import InvoiceState, SubscriptionState
    from nightshift.crm.models import (
        BillingTerm,
        BillingTermScheme,
        Contact,
        Invoice,
        PricePlan,
        Subscription,
        SubscriptionType,
    )

    kind = SubscriptionType.objects.create(code="TV", name="Residential TV")
    plan = PricePlan.objects.create(code="BASIC", name="Basic", monthly_fee=10)
    scheme = BillingTermScheme.objects.create(code="POSTPAID", name="Postpaid")
    total = subscriptions + baseline
    contacts = -(-total // SUBSCRIPTIONS_PER_CONTACT)

    def end_of(index: int) -> dt.date:
        return AS_OF if index < subscriptions else AS_OF - dt.timedelta(days=1)

    def contact_rows() -> Iterator[tuple]:
        for index in range(contacts):
            yield index + 1, f"C{index:08d}", f"Name {index}", f"Family {index % 997}"

    def subscription_rows() -> Iterator[tuple]:
        for index in range(total):
            end = end_of(index)
            yield (
                index + 1,
                f"S{index:08d}",
                index // SUBSCRIPTIONS_PER_CONTACT + 1,
                kind.pk,
                SubscriptionState.SHORT_TERM_NOT_EFFECTIVE,
                end - dt.timedelta(days=400),
                end - dt.timedelta(days=30),
                end,
            )

    def term_rows() -> Iterator[tuple]:
        for index in range(total):
            if index % NO_TERM_EVERY == NO_TERM_EVERY - 1:
                continue
            allowed = Decimal("100.00") if index % TOLERANT_EVERY == 0 else Decimal("0.00")
            yield index + 1, plan.pk, scheme.pk, end_of(index) - dt.timedelta(days=400), allowed

    def invoice_rows() -> Iterator[tuple]:
        number = 0
        for contact in range(1, contacts + 1):
            if contact % INDEBTED_EVERY:
                continue
            for part in (1, 2):
                number += 1
                balance = Decimal(10 + contact % 150) / part
                yield (
                    f"INV{number:09d}",
                    contact,
                    InvoiceState.POSTED,
                    AS_OF - dt.timedelta(days=45 * part),
                    balance + 20,
                    balance,
                )

    loaded = {}
    with transaction.atomic():
        loaded["contacts"] = insert_rows(
            Contact, ["id", "code", "first_name", "last_name"], contact_rows()
        )
        loaded["subscriptions"] = insert_rows(
            Subscription,
            [
                "id",
                "number",
                "contact_id",
                "subscription_type_id",
                "state",
                "activated_on",
                "short_term_start_date",
                "short_term_end_date",
            ],
            subscription_rows(),
        )
        loaded["billing terms"] = insert_rows(
            BillingTerm,
            [
                "subscription_id",
                "price_plan_id",
                "scheme_id",
                "effective_from",
                "max_unsettled_balance",
            ],
            term_rows(),
        )
        loaded["invoices"] = insert_rows(
            Invoice,
            ["code", "contact_id", "state", "issued_on", "amount", "balance"],
            invoice_rows(),
        )
    from django.core.management.color import no_style

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [Contact, Subscription]):
            cursor.execute(sql)
    analyze("crm_contact", "crm_subscription", "crm_billingterm", "crm_invoice")
    return loaded


def new_run(as_of: dt.date):
    """A draft run of a short term deactivation definition logging successes and errors."""
    from nightshift.processes.builtin.short_term_deactivation import LeaveShortTermDeactivation
    from nightshift.runs.models import LogLevel

    return draft_run(
        LeaveShortTermDeactivation,
        {},
        name="Bench: leave short term deactivation",
        code=f"BENCH{as_of:%Y%m%d}",
        as_of=as_of,
        log_level=LogLevel.ALL,
    )


def per_record_baseline(batch_size: int) -> tuple[int, float]:
    """The per-record ORM loop over the baseline's candidates: (records, seconds)."""
    from django.db import transaction
    from django.db.models import F, Sum
    from django.utils.translation import gettext as _

    from nightshift.crm.choices import BehaviourCode, InvoiceState, SubscriptionState
    from nightshift.crm.models import BillingTerm, Invoice, Subscription, SubscriptionAction
    from nightshift.processes.builtin.short_term_deactivation import LeaveShortTermDeactivation
    from nightshift.runs.models import ProcessRun, RunItem, RunState

    as_of = AS_OF - dt.timedelta(days=1)
    run = new_run(as_of)
    started = time.perf_counter()
    ids = list(
        LeaveShortTermDeactivation()
        .candidates({}, as_of=as_of)
        .values_list("pk", flat=True)
        .iterator(chunk_size=batch_size)
    )
    for offset in range(0, len(ids), batch_size):
        with transaction.atomic():
            succeeded = 0
            for pk in ids[offset : offset + batch_size]:
                subscription = Subscription.objects.select_for_update().get(pk=pk)
                term = BillingTerm.objects.filter(subscription=subscription, is_effective=True)
                term = term.first()
                if term is None:
                    RunItem.objects.create(
                        run=run, record_id=pk, ok=False, message=_("no effective billing term")
                    )
                    continue
                unsettled = Invoice.objects.filter(
                    contact_id=subscription.contact_id, state=InvoiceState.POSTED
                ).aggregate(total=Sum("balance"))["total"] or Decimal(0)
                if term.activation_conditions_met(unsettled):
                    message = _("activation conditions met; no deactivation")
                else:
                    subscription.state = SubscriptionState.NOT_EFFECTIVE
                    subscription.deactivated_on = as_of
                    subscription.save()
                    SubscriptionAction.objects.create(
                        subscription=subscription,
                        behaviour_code=BehaviourCode.DEACTIVATE,
                        performed_on=as_of,
                        process_run_number=run.pk,
                        reason=f"unsettled balance {unsettled}",
                    )
                    message = _("deactivated on %(date)s") % {"date": as_of.isoformat()}
                RunItem.objects.create(run=run, record_id=pk, ok=True, message=message)
                succeeded += 1
            batch = len(ids[offset : offset + batch_size])
            ProcessRun.objects.filter(pk=run.pk).update(
                processed=F("processed") + batch,
                succeeded=F("succeeded") + succeeded,
                failed=F("failed") + batch - succeeded,
            )
    seconds = time.perf_counter() - started
    ProcessRun.objects.filter(pk=run.pk).update(state=RunState.COMPLETED_WITH_ERRORS)
    return len(ids), seconds


def engine_run(batch_size: int | None) -> tuple[object, float, float]:
    """``engine.execute`` over the engine's candidates: (run, seconds, peak RSS in MB)."""
    from nightshift.runs import engine

    run = new_run(AS_OF)
    reset_peak_rss()
    started = time.perf_counter()
    ended = engine.execute(run.pk, worker_id="bench", batch_size=batch_size)
    seconds = time.perf_counter() - started
    return ended, seconds, peak_rss_mb()


def check(run, subscriptions: int) -> dict[str, int]:
    """What the run did, checked against the data: every candidate has one item."""
    from nightshift.crm.choices import BehaviourCode, SubscriptionState
    from nightshift.crm.models import Subscription, SubscriptionAction
    from nightshift.runs.models import RunItem, RunState

    items = RunItem.objects.filter(run=run).count()
    deactivated = Subscription.objects.filter(
        state=SubscriptionState.NOT_EFFECTIVE, deactivated_on=AS_OF
    ).count()
    actions = SubscriptionAction.objects.filter(
        process_run_number=run.pk, behaviour_code=BehaviourCode.DEACTIVATE
    ).count()
    if run.state != RunState.COMPLETED_WITH_ERRORS or not (run.processed == items == subscriptions):
        raise RuntimeError(
            f"run #{run.pk} ended {run.state} with {run.processed} processed and {items} items "
            f"for {subscriptions} candidates: {run.message}"
        )
    if deactivated != actions or run.failed != subscriptions // NO_TERM_EVERY:
        raise RuntimeError(
            f"{deactivated} deactivated, {actions} actions logged, {run.failed} errors"
        )
    return {"items": items, "deactivated": deactivated, "errors": run.failed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--subscriptions",
        type=int,
        default=int(os.environ.get("NIGHTSHIFT_BENCH_SUBSCRIPTIONS", "1000000")),
    )
    parser.add_argument(
        "--baseline", type=int, default=int(os.environ.get("NIGHTSHIFT_BENCH_BASELINE", "20000"))
    )
    parser.add_argument(
        "--batch-size", type=int, default=None, help="default: NIGHTSHIFT_BATCH_SIZE"
    )
    options = parser.parse_args()

    with scratch_database("engine") as url, django_on(url):
        from django.conf import settings

        batch_size = options.batch_size or settings.NIGHTSHIFT_BATCH_SIZE
        started = time.perf_counter()
        loaded = load(options.subscriptions, options.baseline)
        print(
            f"short term deactivation on PostgreSQL, log level “success and errors”, "
            f"batches of {batch_size:,}"
        )
        print(
            f"  loaded with COPY in {time.perf_counter() - started:.1f} s: "
            + ", ".join(f"{count:,} {what}" for what, count in loaded.items())
        )

        sample, baseline_seconds = per_record_baseline(batch_size)
        baseline_rate = sample / baseline_seconds
        rss_before = rss_mb()
        run, seconds, peak = engine_run(options.batch_size)
        outcome = check(run, options.subscriptions)
        rate = run.processed / seconds
        ratio = rate / baseline_rate

        print(f"  {'':<30}{'records':>11}  {'seconds':>8}  {'records/s':>10}")
        print(
            f"  {'per-record ORM loop':<30}{sample:>11,}  {baseline_seconds:>8.1f}  "
            f"{baseline_rate:>10,.0f}   ({options.subscriptions:,} would take "
            f"{options.subscriptions / baseline_rate / 60:.0f} min)"
        )
        print(f"  {'engine.execute':<30}{run.processed:>11,}  {seconds:>8.1f}  {rate:>10,.0f}")
        print(f"  ratio {ratio:.1f}x faster")
        print(
            f"  run #{run.pk} {run.state}: {outcome['items']:,} run items, "
            f"{outcome['deactivated']:,} deactivated, {outcome['errors']:,} errors"
        )
        print(f"  peak RSS during the run {peak:.0f} MB (RSS before it {rss_before:.0f} MB)")
        print("targets:")
        print(
            target(
                "engine records per second",
                f"{rate:,.0f}/s",
                f">= {RATE_TARGET:,}/s",
                rate >= RATE_TARGET,
            )
        )
        print(
            target(
                "engine peak RSS",
                f"{peak:.0f} MB",
                f"< {RSS_TARGET_MB} MB",
                peak < RSS_TARGET_MB,
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
