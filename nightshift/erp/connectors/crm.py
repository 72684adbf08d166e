"""The default ERP connector: the CRM's own purchase events and invoices.

An installation without an external ERP records purchases as customer events of kind
"purchase" and bills with invoices; this connector answers from them, so the account routines
work out of the box. Every method is a fixed number of queries per batch (correlated subqueries
read each contact's rows through the ``(contact, occurred_at)`` index).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy

from nightshift.crm.choices import (
    ContactStatus,
    CustomerEventKind,
    InvoiceState,
    OpportunityStage,
)
from nightshift.crm.models import Contact, CustomerEvent, Invoice, Opportunity
from nightshift.erp.connectors import (
    Batch,
    ErpConnector,
    PurchaseSummary,
    PurchaseTotal,
    register_connector,
)

__all__ = ["CrmConnector"]

CENTS = Decimal("0.01")
# Stages an opportunity reaches once a quotation was sent (OpportunityStage.PROPOSAL onwards).
QUOTED_STAGES = (OpportunityStage.PROPOSAL, OpportunityStage.NEGOTIATION, OpportunityStage.WON)


def _money(value) -> Decimal | None:
    # SQLite sums decimals as floats (124.78999…): the figures are stored in cents.
    return None if value is None else Decimal(value).quantize(CENTS)


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _local_date(moment: datetime.datetime | None) -> datetime.date | None:
    return None if moment is None else timezone.localdate(moment)


@register_connector
class CrmConnector(ErpConnector):
    """Purchases are the contact's "purchase" customer events (date: when it occurred);
    the last invoice is the latest invoice not cancelled (falling back to the invoice code of
    the last purchase); the last quotation is the latest change to an opportunity that reached
    the proposal stage. An account is known to the "ERP" once it has a purchase or an invoice,
    and active while its last one is less than ``NIGHTSHIFT_ERP_ACTIVE_MONTHS`` old."""

    key = "crm"
    label = gettext_lazy("CRM purchase events and invoices")

    @staticmethod
    def _purchases():
        return CustomerEvent.objects.filter(
            contact=OuterRef("pk"), kind=CustomerEventKind.PURCHASE
        ).order_by()

    def purchase_summaries(self, contacts: Batch, *, as_of: datetime.date):
        purchases = self._purchases()
        first = purchases.order_by("occurred_at", "pk")
        last = purchases.order_by("-occurred_at", "-pk")
        totals = purchases.values("contact").annotate(total=Sum("amount"), count=Count("pk"))
        rows = (
            Contact.objects.filter(pk__in=list(contacts))
            .annotate(
                first_at=Subquery(first.values("occurred_at")[:1]),
                first_amount=Subquery(first.values("amount")[:1]),
                last_at=Subquery(last.values("occurred_at")[:1]),
                last_amount=Subquery(last.values("amount")[:1]),
                last_event_invoice=Subquery(last.values("invoice_code")[:1]),
                total=Subquery(totals.values("total")),
                count=Subquery(totals.values("count")),
                last_invoice=Subquery(
                    Invoice.objects.filter(contact=OuterRef("pk"))
                    .exclude(state=InvoiceState.CANCELLED)
                    .order_by("-issued_on", "-pk")
                    .values("code")[:1]
                ),
                last_quoted_at=Subquery(
                    Opportunity.objects.filter(contact=OuterRef("pk"), stage__in=QUOTED_STAGES)
                    .order_by("-updated_at")
                    .values("updated_at")[:1]
                ),
            )
            .values(
                "pk",
                "first_at",
                "first_amount",
                "last_at",
                "last_amount",
                "last_event_invoice",
                "total",
                "count",
                "last_invoice",
                "last_quoted_at",
            )
        )
        summaries: dict[int, PurchaseSummary] = {}
        for row in rows:
            if not row["count"] and not row["last_invoice"] and not row["last_quoted_at"]:
                continue
            summaries[row["pk"]] = PurchaseSummary(
                first_purchase_date=_local_date(row["first_at"]),
                first_purchase_amount=_money(row["first_amount"]),
                last_purchase_date=_local_date(row["last_at"]),
                last_purchase_amount=_money(row["last_amount"]),
                accumulated_purchase_amount=_money(row["total"]) or Decimal("0.00"),
                accumulated_purchase_count=row["count"] or 0,
                last_quotation_date=_local_date(row["last_quoted_at"]),
                last_invoice_code=row["last_invoice"] or row["last_event_invoice"] or "",
            )
        return summaries

    def account_statuses(self, contacts: Batch, *, as_of: datetime.date):
        months = int(getattr(settings, "NIGHTSHIFT_ERP_ACTIVE_MONTHS", 12))
        since = as_of - relativedelta(months=months)
        rows = (
            Contact.objects.filter(pk__in=list(contacts))
            .annotate(
                last_at=Subquery(
                    self._purchases().order_by("-occurred_at").values("occurred_at")[:1]
                ),
                last_invoiced=Subquery(
                    Invoice.objects.filter(contact=OuterRef("pk"))
                    .exclude(state=InvoiceState.CANCELLED)
                    .order_by("-issued_on")
                    .values("issued_on")[:1]
                ),
                invoiced=Exists(Invoice.objects.filter(contact=OuterRef("pk"))),
            )
            .values("pk", "last_at", "last_invoiced", "invoiced")
        )
        statuses: dict[int, str] = {}
        for row in rows:
            dates = [d for d in (_local_date(row["last_at"]), row["last_invoiced"]) if d]
            if not dates and not row["invoiced"]:
                continue  # neither bought nor billed: not integrated
            recent = bool(dates) and since < max(dates) <= as_of
            statuses[row["pk"]] = ContactStatus.ACTIVE if recent else ContactStatus.INACTIVE
        return statuses

    def purchase_totals(self, contacts: Batch, *, since: datetime.date, as_of: datetime.date):
        rows = (
            CustomerEvent.objects.filter(
                contact_id__in=list(contacts),
                kind=CustomerEventKind.PURCHASE,
                occurred_at__gte=_start_of(since),
                occurred_at__lt=_start_of(as_of + datetime.timedelta(days=1)),
            )
            .values("contact_id")
            .annotate(total=Sum("amount"), count=Count("pk"))
            .order_by()
        )
        return {
            row["contact_id"]: PurchaseTotal(amount=_money(row["total"]), count=row["count"])
            for row in rows
        }
