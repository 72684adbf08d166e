"""Past-due invoices (TOTVS "Títulos em atraso"): invoices with a balance above zero whose
payment terms (days from the invoice date) have elapsed get a late-payment penalty, recorded
as an ``InvoicePenalty`` and added to the invoice's penalties and balance. Nobody is notified.

Two rules, chosen in the definition:

- ``fixed_once`` — a one-off fine of ``rate`` % of the invoice amount, charged the first time
  the invoice is found past due and never again for that invoice;
- ``daily_interest`` — simple interest of ``rate`` % a day on the principal still owed
  (``min(balance, amount)``: penalties bear no interest), for every day since the due date or
  since the last charge, whichever is later. A day missed (no run) is charged by the next run.

Re-running the same day charges nothing twice: an invoice charged on the date of execution is
no longer a candidate, and ``InvoicePenalty`` allows one charge per invoice and day.
"""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from django.db.models import (
    DateField,
    DecimalField,
    Exists,
    F,
    Func,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import BaseModel, ConfigDict, Field

from nightshift.crm.choices import InvoiceState
from nightshift.crm.models import Invoice, InvoicePenalty
from nightshift.processes.base import Outcome, Process
from nightshift.processes.registry import register

__all__ = ["AddDays", "PastDueInvoices"]

CENTS = Decimal("0.01")
FIXED_ONCE = "fixed_once"
DAILY_INTEREST = "daily_interest"


class AddDays(Func):
    """``date + integer days`` on both databases (Django's duration arithmetic cannot
    multiply a column by a day on SQLite)."""

    output_field = DateField()
    arity = 2

    def as_sqlite(self, compiler, connection, **extra):
        date, days = (compiler.compile(expression) for expression in self.get_source_expressions())
        return f"date({date[0]}, '+' || {days[0]} || ' days')", (*date[1], *days[1])

    def as_postgresql(self, compiler, connection, **extra):
        date, days = (compiler.compile(expression) for expression in self.get_source_expressions())
        return f"({date[0]} + {days[0]})", (*date[1], *days[1])


class PastDueParameters(BaseModel):
    """The penalty rule and rate of a past-due invoices run definition."""

    model_config = ConfigDict(extra="forbid", title="Past-due invoices")

    rule: Literal["fixed_once", "daily_interest"] = Field(
        title="Penalty rule",
        json_schema_extra={"group": "input_settings"},
        default=FIXED_ONCE,
        description="fixed_once: one fine of rate % of the amount; daily_interest: rate % a "
        "day of the principal still owed, for each day overdue.",
    )
    rate: Decimal = Field(
        title="Rate (%)",
        json_schema_extra={"group": "input_settings"},
        gt=0,
        le=100,
        max_digits=8,
        decimal_places=4,
        description="Percentage: of the amount (fixed once) or per day (daily interest).",
    )
    grace_days: int = Field(
        title="Grace days",
        json_schema_extra={"group": "criteria"},
        default=0,
        ge=0,
        le=3650,
        description="Days after the due date before any penalty.",
    )
    currencies: list[str] = Field(
        title="Currencies",
        json_schema_extra={"group": "criteria"},
        default_factory=list,
        description="Only invoices in these currencies (ISO codes); empty for all.",
    )


@register
class PastDueInvoices(Process):
    """Charge late-payment penalties on past-due invoices (see the module docstring)."""

    key = "billing.past_due_invoices"
    name = gettext_lazy("Past-due invoices")
    description = gettext_lazy(
        "Computes the late-payment penalty of invoices whose payment terms have elapsed with "
        "a balance left, records it and updates the invoice balance; no notification."
    )
    Parameters = PastDueParameters
    model = Invoice
    default_agenda = {"mode": "cron", "expression": "0 1 * * *"}  # daily, after midnight

    def candidates(self, params: dict[str, Any], *, as_of: datetime.date) -> QuerySet:
        """Posted invoices with a balance whose due date plus the grace days is before
        ``as_of``, not charged on ``as_of`` yet (nor ever, for the fixed rule)."""
        grace = int(params.get("grace_days") or 0)
        charged = InvoicePenalty.objects.filter(invoice=OuterRef("pk"))
        if params["rule"] == FIXED_ONCE:
            charged = charged.filter(rule=FIXED_ONCE)
        else:
            charged = charged.filter(charged_on__gte=as_of)
        queryset = (
            Invoice.objects.filter(state=InvoiceState.POSTED, balance__gt=0)
            # A bound on the indexed column first, then the exact due date per invoice.
            .filter(issued_on__lt=as_of - datetime.timedelta(days=grace))
            .alias(due_on=AddDays("issued_on", F("payment_terms_days") + Value(grace)))
            .filter(due_on__lt=as_of)
            .filter(~Exists(charged))
        )
        if params.get("currencies"):
            queryset = queryset.filter(currency__in=[c.upper() for c in params["currencies"]])
        return queryset.order_by("pk")

    def process_batch(
        self,
        params: dict[str, Any],
        ids: list[int],
        *,
        as_of: datetime.date,
        run_number: int | None,
    ) -> list[Outcome]:
        """1. Lock the batch's invoices still candidates, with their last charge date, and drop
           those another worker charged meanwhile.
        2. Compute each penalty in Python (decimal, rounded half up to the cent).
        3. Insert the penalties with one INSERT, then add each to its invoice's penalties and
           balance with one UPDATE reading today's charge back by subquery."""
        rule = params["rule"]
        rate = Decimal(str(params["rate"]))
        rows = list(
            self.candidates(params, as_of=as_of)
            .filter(pk__in=ids)
            .select_for_update(of=("self",))
            # A subquery, not an aggregate: PostgreSQL refuses FOR UPDATE with GROUP BY.
            .annotate(
                last_charged=Subquery(
                    InvoicePenalty.objects.filter(invoice=OuterRef("pk"))
                    .order_by("-charged_on")
                    .values("charged_on")[:1]
                )
            )
            .values(
                "pk", "code", "issued_on", "payment_terms_days", "amount", "balance", "last_charged"
            )
        )
        # Read again after the lock: another worker that charged these invoices and committed
        # while this one waited is invisible to the locking query's own snapshot.
        charged = InvoicePenalty.objects.filter(invoice_id__in=[row["pk"] for row in rows])
        charged = (
            charged.filter(rule=FIXED_ONCE)
            if rule == FIXED_ONCE
            else charged.filter(charged_on__gte=as_of)
        )
        already = set(charged.values_list("invoice_id", flat=True))
        rows = [row for row in rows if row["pk"] not in already]
        penalties: list[InvoicePenalty] = []
        outcomes: dict[int, Outcome] = {}
        for row in rows:
            due_on = row["issued_on"] + datetime.timedelta(days=row["payment_terms_days"])
            overdue = (as_of - due_on).days
            if rule == FIXED_ONCE:
                amount = row["amount"] * rate / 100
                days_charged = overdue
            else:
                since = max(due_on, row["last_charged"] or due_on)
                days_charged = (as_of - since).days
                amount = min(row["balance"], row["amount"]) * rate / 100 * days_charged
            amount = amount.quantize(CENTS, rounding=ROUND_HALF_UP)
            if amount <= 0:
                outcomes[row["pk"]] = Outcome(
                    row["pk"], ok=True, message=_("Penalty rounds to zero; nothing charged.")
                )
                continue
            penalties.append(
                InvoicePenalty(
                    invoice_id=row["pk"],
                    charged_on=as_of,
                    days_overdue=overdue,
                    rule=rule,
                    rate=rate,
                    amount=amount,
                )
            )
            outcomes[row["pk"]] = Outcome(
                row["pk"],
                ok=True,
                message=_(
                    "%(code)s: %(days)s days overdue, penalty %(amount)s (%(rule)s, %(rate)s %%)."
                )
                % {
                    "code": row["code"],
                    "days": overdue,
                    "amount": amount,
                    "rule": rule,
                    "rate": rate.normalize(),
                },
            )
        if penalties:
            InvoicePenalty.objects.bulk_create(penalties)
            today = Subquery(
                InvoicePenalty.objects.filter(invoice=OuterRef("pk"), charged_on=as_of).values(
                    "amount"
                )[:1],
                output_field=DecimalField(max_digits=14, decimal_places=2),
            )
            Invoice.objects.filter(pk__in=[p.invoice_id for p in penalties]).update(
                penalty_amount=F("penalty_amount") + Coalesce(today, Value(Decimal(0))),
                balance=F("balance") + Coalesce(today, Value(Decimal(0))),
            )
        gone = _(
            "The invoice is no longer a candidate (settled, cancelled, or already charged "
            "today); nothing charged."
        )
        return [outcomes.get(pk) or Outcome(pk, ok=True, message=gone) for pk in ids]
