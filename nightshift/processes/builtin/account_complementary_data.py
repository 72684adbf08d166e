"""Account complementary data (TOTVS "Dados Complementares Conta", program crm338).

Refreshes, from the ERP, each account's purchase figures: first and last purchase date and
amount, accumulated purchase amount and count, last quotation date, days since the last
purchase and last invoice code. The ERP is whatever ``NIGHTSHIFT_ERP_CONNECTOR`` names
(docs/erp.md); with no ERP integration active the run fails with that reason.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import ConfigDict

from nightshift.crm.models import Contact
from nightshift.erp.accounts import bulk_set
from nightshift.erp.connectors import PurchaseSummary, split_errors
from nightshift.erp.routines import AccountRoutine, AudienceParameters
from nightshift.processes.base import Outcome
from nightshift.processes.registry import register

__all__ = ["AccountComplementaryData"]

# The contact fields the routine writes, all of them for every contact it processes.
FIELDS = (
    "first_purchase_date",
    "first_purchase_amount",
    "last_purchase_date",
    "last_purchase_amount",
    "accumulated_purchase_amount",
    "accumulated_purchase_count",
    "last_quotation_date",
    "days_since_last_purchase",
    "last_invoice_code",
    "complementary_data_updated_at",
)
NEVER_BOUGHT = PurchaseSummary()


class AccountComplementaryDataParameters(AudienceParameters):
    """Criteria of an "account complementary data" run definition."""

    model_config = ConfigDict(extra="forbid", title="Account complementary data")


@register
class AccountComplementaryData(AccountRoutine):
    """Write each account's purchase figures from the ERP onto the contact.

    Every contact (or every contact of the chosen audience) is a candidate. For each batch the
    connector is asked once for the purchase summaries of all its contacts; a contact the ERP
    has no purchase for gets its figures cleared (no dates, zero amounts), so the data always
    says what the ERP says. ``days_since_last_purchase`` counts from the date of execution.
    Running twice gives the same figures.
    """

    key = "accounts.complementary_data"
    name = gettext_lazy("Account complementary data")
    description = gettext_lazy(
        "Updates each account's purchase figures from the ERP: first and last purchase, "
        "accumulated purchases, last quotation, days since the last purchase, last invoice."
    )
    Parameters = AccountComplementaryDataParameters
    # Daily at 02:00, staggered with the other routines reading the ERP.
    default_agenda = {
        "mode": "advanced",
        "start": "2026-01-01T02:00",
        "repeat": {"daily": {"every": 1}},
    }

    def process_batch(
        self,
        params: dict[str, Any],
        ids: list[int],
        *,
        as_of: datetime.date,
        run_number: int | None,
    ) -> list[Outcome]:
        """Ask the ERP about the batch (one call), write every contact's figures with one
        set-based UPDATE per thousand contacts; one outcome per id."""
        codes = self._batch_codes(params, ids, as_of=as_of)
        summaries, invalid = split_errors(
            self.connector.purchase_summaries(codes, as_of=as_of) if codes else {}
        )
        now = timezone.now()
        values: dict[int, dict[str, Any]] = {}
        outcomes = self._gone(ids, codes)
        none = _("no purchases in the ERP; figures cleared")
        updated = _("%(count)s purchases, %(amount)s in all; last on %(date)s")
        for pk in codes:
            if pk in invalid:
                outcomes[pk] = Outcome(pk, ok=False, message=invalid[pk])
                continue
            summary = summaries.get(pk, NEVER_BOUGHT)
            last = summary.last_purchase_date
            values[pk] = {
                "first_purchase_date": summary.first_purchase_date,
                "first_purchase_amount": summary.first_purchase_amount,
                "last_purchase_date": last,
                "last_purchase_amount": summary.last_purchase_amount,
                "accumulated_purchase_amount": summary.accumulated_purchase_amount,
                "accumulated_purchase_count": summary.accumulated_purchase_count,
                "last_quotation_date": summary.last_quotation_date,
                "days_since_last_purchase": max((as_of - last).days, 0) if last else None,
                "last_invoice_code": summary.last_invoice_code,
                "complementary_data_updated_at": now,
            }
            if summary.accumulated_purchase_count:
                message = updated % {
                    "count": summary.accumulated_purchase_count,
                    "amount": summary.accumulated_purchase_amount,
                    "date": last.isoformat() if last else "-",
                }
            else:
                message = none
            outcomes[pk] = Outcome(pk, ok=True, message=message)
        bulk_set(Contact, FIELDS, values)
        return [outcomes[pk] for pk in ids]
