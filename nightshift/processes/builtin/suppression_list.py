"""Suppression list (CRM.COM back-end process): contacts with an e-mail address and the
status "rejected" are added to the suppression list, and no one else.

Idempotent: a contact whose address is already on the list is not a candidate, and adding
skips addresses another run added meanwhile.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import BaseModel, ConfigDict

from nightshift.crm.choices import ContactStatus
from nightshift.crm.models import Contact
from nightshift.mail.actions import suppress_addresses
from nightshift.mail.models import SuppressionEntry
from nightshift.processes.base import Outcome, Process
from nightshift.processes.registry import register

__all__ = ["SuppressRejectedContacts"]


class SuppressionListParameters(BaseModel):
    """The process has nothing to choose: the rule is fixed by the manual."""

    model_config = ConfigDict(extra="forbid", title="Suppression list")


@register
class SuppressRejectedContacts(Process):
    """Add the addresses of rejected contacts to the suppression list.

    Candidates are contacts with the status "rejected", an e-mail address, and no suppression
    entry for that address (compared in lower case). Each is added with the reason "contact
    rejected" and a link to the contact.
    """

    key = "mail.suppression_list"
    name = gettext_lazy("Suppression list")
    description = gettext_lazy(
        "Adds the e-mail addresses of contacts with the status “rejected” to the suppression "
        "list, so that nothing is mailed to them any more."
    )
    Parameters = SuppressionListParameters
    model = Contact
    default_agenda = {"mode": "cron", "expression": "30 1 * * *"}  # daily, before the mailings

    def candidates(self, params: dict[str, Any], *, as_of: datetime.date) -> QuerySet:
        listed = SuppressionEntry.objects.filter(email=Lower(OuterRef("email")))
        return (
            Contact.objects.filter(status=ContactStatus.REJECTED)
            .exclude(email="")
            .filter(~Exists(listed))
            .order_by("pk")
        )

    def process_batch(
        self,
        params: dict[str, Any],
        ids: list[int],
        *,
        as_of: datetime.date,
        run_number: int | None,
    ) -> list[Outcome]:
        """One read of the batch's contacts still candidates, one insert of their addresses."""
        rows = list(
            self.candidates(params, as_of=as_of).filter(pk__in=ids).values_list("pk", "email")
        )
        reason = _("Contact rejected (run #%(number)s)") % {"number": run_number or "-"}
        added = suppress_addresses(((email, pk) for pk, email in rows), reason=reason)
        outcomes: dict[int, Outcome] = {}
        for pk, email in rows:
            address = email.strip().lower()
            if address in added:
                message = _("%(address)s added to the suppression list.") % {"address": address}
            else:
                message = _("%(address)s was already on the suppression list.") % {
                    "address": address
                }
            outcomes[pk] = Outcome(pk, ok=True, message=message)
        gone = _(
            "The contact is no longer a candidate (status changed, no e-mail address, or the "
            "address is already on the suppression list)."
        )
        return [outcomes.get(pk) or Outcome(pk, ok=True, message=gone) for pk in ids]
