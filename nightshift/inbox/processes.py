"""The inbound e-mail process: read every connected mailbox over IMAP into the CRM."""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import BaseModel, ConfigDict, Field

from nightshift.inbox.imap import MailboxError
from nightshift.inbox.models import Mailbox
from nightshift.inbox.sync import sync_mailbox
from nightshift.processes.base import Outcome, ParameterError, Process
from nightshift.processes.registry import register

__all__ = ["SyncMailboxes"]

logger = logging.getLogger(__name__)


class SyncMailboxesParameters(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Inbound e-mail")

    mailboxes: list[str] = Field(
        title="Mailboxes",
        json_schema_extra={"group": "criteria"},
        default_factory=list,
        description="Names of the mailboxes to read; empty for every active mailbox.",
    )
    max_messages_per_folder: int = Field(
        title="Messages per folder and run",
        json_schema_extra={"group": "input_settings"},
        default=2000,
        ge=1,
        le=100_000,
        description="At most this many new messages are read from each folder in one run; "
        "the next run reads on from there (keeps a first sync of a large mailbox in steps).",
    )


@register
class SyncMailboxes(Process):
    """Read the new messages of each active mailbox over IMAP and store them in the CRM.

    Records are mailboxes. Each folder of a mailbox is read above its stored high-water mark
    (UIDVALIDITY + last UID), so a run fetches only what arrived since the last one; messages
    are stored once by Message-ID, linked to contacts and leads by address, threaded, and
    tagged when the CRM sent them (see ``nightshift.inbox.sync``). A mailbox that cannot be
    read is an error outcome naming it and the reason; the other mailboxes still sync.
    """

    key = "inbox.sync_mailboxes"
    name = gettext_lazy("Inbound e-mail")
    description = gettext_lazy(
        "Reads each connected mailbox over IMAP and stores its new messages once, linked to "
        "their contacts and leads, threaded and tagged when the CRM sent them."
    )
    Parameters = SyncMailboxesParameters
    model = Mailbox
    # New mail shows up in the CRM within five minutes.
    default_agenda = {
        "mode": "repeat",
        "every": 5,
        "unit": "minutes",
        "start": {"after": {"every": 1, "unit": "minutes"}},
    }

    @classmethod
    def check(cls, params: SyncMailboxesParameters) -> None:
        names = list(dict.fromkeys(name.strip() for name in params.mailboxes if name.strip()))
        known = set(Mailbox.objects.filter(name__in=names).values_list("name", flat=True))
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ParameterError(
                {"mailboxes": _("Unknown mailboxes: %(names)s.") % {"names": ", ".join(unknown)}}
            )
        params.mailboxes = names

    def candidates(self, params: dict[str, Any], *, as_of: datetime.date) -> QuerySet:
        """Active mailboxes (those named in the criteria, if any), by primary key."""
        queryset = Mailbox.objects.filter(is_active=True)
        if params.get("mailboxes"):
            queryset = queryset.filter(name__in=params["mailboxes"])
        return queryset.order_by("pk")

    def process_batch(
        self,
        params: dict[str, Any],
        ids: list[int],
        *,
        as_of: datetime.date,
        run_number: int | None,
    ) -> list[Outcome]:
        """Sync each mailbox of ``ids`` in a savepoint of its own: one that fails leaves
        nothing half-stored and does not stop the others."""
        limit = params.get("max_messages_per_folder", 2000)
        mailboxes = {
            mailbox.pk: mailbox
            for mailbox in self.candidates(params, as_of=as_of).filter(pk__in_array=ids)
        }
        outcomes: list[Outcome] = []
        for pk in ids:
            mailbox = mailboxes.get(pk)
            if mailbox is None:
                message = _("The mailbox is no longer active or was deleted; it was not read.")
                outcomes.append(Outcome(pk, ok=False, message=message))
                continue
            outcomes.append(self._sync(mailbox, limit))
        return outcomes

    @staticmethod
    def _sync(mailbox: Mailbox, limit: int) -> Outcome:
        try:
            with transaction.atomic():
                result = sync_mailbox(mailbox, limit=limit)
        except MailboxError as exc:
            # The server's words often end with a full stop of their own.
            reason = str(exc).rstrip(". ")
            error = _("Mailbox “%(name)s”: %(reason)s.") % {"name": mailbox.name, "reason": reason}
            Mailbox.objects.filter(pk=mailbox.pk).update(last_error=error)
            return Outcome(mailbox.pk, ok=False, message=error)
        Mailbox.objects.filter(pk=mailbox.pk).update(last_synced_at=timezone.now(), last_error="")
        return Outcome(
            mailbox.pk,
            ok=True,
            message=_("Mailbox “%(name)s”: %(read)d messages read, %(stored)d new stored.")
            % {"name": mailbox.name, "read": result.read, "stored": result.stored},
        )
