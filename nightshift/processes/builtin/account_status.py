"""Account status (TOTVS "Atualização de Status das Contas", program crm1003).

Sets each account's status from the ERP: active, inactive, or not integrated with the ERP (an
account the ERP does not know). Rejected contacts keep their status: rejection is a decision
taken in the CRM (it puts the address on the suppression list), not something the ERP knows.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import ConfigDict

from nightshift.crm.choices import ContactStatus
from nightshift.crm.models import Contact
from nightshift.erp.connectors import split_errors
from nightshift.erp.routines import AccountRoutine, AudienceParameters
from nightshift.processes.base import Outcome
from nightshift.processes.registry import register

__all__ = ["AccountStatus"]


class AccountStatusParameters(AudienceParameters):
    """Criteria of an "account status" run definition."""

    model_config = ConfigDict(extra="forbid", title="Account status")


@register
class AccountStatus(AccountRoutine):
    """Set each account's status to what the ERP says.

    Candidates: every contact (or those of the chosen audience) except rejected ones. Per batch
    the connector is asked once; contacts whose status changes are written with one UPDATE per
    new status (three at most), the others are left untouched, so a second run changes nothing.
    """

    key = "accounts.status"
    name = gettext_lazy("Account status")
    description = gettext_lazy(
        "Sets each account's status from the ERP: active, inactive or not integrated with ERP."
    )
    Parameters = AccountStatusParameters
    # Daily at 03:00, after the complementary data.
    default_agenda = {
        "mode": "advanced",
        "start": "2026-01-01T03:00",
        "repeat": {"daily": {"every": 1}},
    }
    excluded = {"status": ContactStatus.REJECTED}

    def process_batch(
        self,
        params: dict[str, Any],
        ids: list[int],
        *,
        as_of: datetime.date,
        run_number: int | None,
    ) -> list[Outcome]:
        """One read of the batch's codes and current statuses (locked), one question to the
        ERP, one UPDATE per status that changes; one outcome per id."""
        rows = (
            self.candidates(params, as_of=as_of)
            .filter(pk__in=ids)
            .select_for_update()
            .values_list("pk", "code", "status")
        )
        codes: dict[int, str] = {}
        current: dict[int, str] = {}
        for pk, code, status in rows:
            codes[pk], current[pk] = code, status
        statuses, invalid = split_errors(
            self.connector.account_statuses(codes, as_of=as_of) if codes else {}
        )
        outcomes = self._gone(ids, codes)
        changes: dict[str, list[int]] = defaultdict(list)
        changed = _("%(old)s → %(new)s")
        unchanged = _("unchanged: %(status)s")
        for pk in codes:
            if pk in invalid:
                outcomes[pk] = Outcome(pk, ok=False, message=invalid[pk])
                continue
            new = ContactStatus(statuses.get(pk, ContactStatus.NOT_INTEGRATED))
            old = ContactStatus(current[pk])
            if new == old:
                outcomes[pk] = Outcome(pk, ok=True, message=unchanged % {"status": new.label})
            else:
                changes[new].append(pk)
                outcomes[pk] = Outcome(
                    pk, ok=True, message=changed % {"old": old.label, "new": new.label}
                )
        for status, pks in changes.items():
            Contact.objects.filter(pk__in=pks).update(status=status)
        return [outcomes[pk] for pk in ids]
