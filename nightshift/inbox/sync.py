"""Reading a mailbox's new messages into the CRM: stored once by Message-ID, linked to the
contacts and leads they concern, threaded, and tagged when the CRM sent them.

Rules (docs/inbox.md explains them to operators):

- **Once.** ``EmailMessage.message_id`` is unique; a message already stored (read earlier,
  read from another mailbox, or sent by the CRM and recorded then) is not stored again.
- **Linking.** The message's addresses other than the mailbox's own, From first then To and
  Cc, are looked up case-insensitively among contacts' and leads' e-mail addresses; the first
  address that belongs to a contact links the contact, the first that belongs to a lead links
  the lead. An inbound message linked to a lead that has not replied yet sets the lead's
  *replied at* (which stops its nurture sequence).
- **Threading.** A message's ``thread_key`` is the thread of the first message it refers to
  (References, then In-Reply-To) that is already stored; else the first id of References (the
  thread's root), else In-Reply-To, else its own Message-ID. When a message arrives that
  others already refer to as their thread, they join its thread.
- **Direction.** Outbound when the CRM sent it or it is from the mailbox's own address;
  inbound otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Lower
from django.utils import timezone

from nightshift.crm.models import Contact, Lead
from nightshift.inbox import imap
from nightshift.inbox.models import Mailbox, MailboxFolder
from nightshift.inbox.parsing import ParsedMessage, parse
from nightshift.mail.models import EmailDirection, EmailMessage

__all__ = ["SyncResult", "store_messages", "sync_mailbox"]

MAX_SUBJECT = 400  # EmailMessage.subject's length
MAX_ADDRESS = 254  # EmailMessage.from_address's length (an EmailField)
MAX_MAILBOX = 200  # EmailMessage.mailbox's length


@dataclass
class SyncResult:
    read: int = 0  # messages fetched from the server
    stored: int = 0  # of them, stored now (the others were stored already)


def sync_mailbox(mailbox: Mailbox, *, limit: int) -> SyncResult:
    """Read the messages of every folder of ``mailbox`` above each folder's high-water mark
    (at most ``limit`` per folder; the rest are read by the next run) and store the new ones.

    The folder states move with the messages they cover, in the caller's transaction, so a
    rolled-back batch reads the same messages again next time. Raises ``imap.MailboxError``.
    """
    result = SyncResult()
    states = {state.name: state for state in mailbox.folder_states.all()}
    with imap.open_mailbox(mailbox) as connection:
        for folder in mailbox.folder_names():
            state = states.get(folder) or MailboxFolder(mailbox=mailbox, name=folder)
            opened = imap.open_folder(connection, folder, uid_validity=state.uid_validity)
            after = 0 if opened.restarted else state.last_uid
            for chunk in imap.fetch_new(connection, after_uid=after, limit=limit):
                parsed = [parse(raw) for _uid, raw in chunk]
                result.read += len(parsed)
                result.stored += store_messages(mailbox, parsed)
                after = chunk[-1][0]
            state.uid_validity = opened.uid_validity
            state.last_uid = after
            state.synced_at = timezone.now()
            state.save()
    return result


def _lookup(model, addresses: set[str], *, lowered: bool) -> dict[str, int]:
    """address (lower case) → id of the first ``model`` row with it (lowest id wins)."""
    if not addresses:
        return {}
    if lowered:
        # Contacts store their address in lower case (Contact.save), so the index serves.
        rows = model.objects.filter(email__in_array=sorted(addresses)).values_list("email", "pk")
    else:
        rows = (
            model.objects.annotate(address=Lower("email"))
            .filter(address__in_array=sorted(addresses))
            .values_list("address", "pk")
        )
    found: dict[str, int] = {}
    for address, pk in rows.order_by("pk"):
        found.setdefault(address.lower(), pk)
    return found


def _first(addresses: Iterable[str], found: dict[str, int]) -> int | None:
    return next((found[address] for address in addresses if address in found), None)


def store_messages(mailbox: Mailbox, messages: list[ParsedMessage]) -> int:
    """Store the messages of ``messages`` not stored yet; return how many were stored.
    Set-based: a constant number of queries whatever the number of messages."""
    unique: dict[str, ParsedMessage] = {}
    for message in messages:
        unique.setdefault(message.message_id, message)
    already = set(
        EmailMessage.objects.filter(message_id__in_array=list(unique)).values_list(
            "message_id", flat=True
        )
    )
    new = [message for message_id, message in unique.items() if message_id not in already]
    if not new:
        return 0

    own = mailbox.own_address
    counterparties = {
        message.message_id: [a for a in message.addresses() if a != own] for message in new
    }
    wanted = {address for addresses in counterparties.values() for address in addresses}
    contacts = _lookup(Contact, wanted, lowered=True)
    leads = _lookup(Lead, wanted, lowered=False)

    parents = {pid for message in new for pid in [*message.references, message.in_reply_to]}
    parents.discard("")
    threads = dict(
        EmailMessage.objects.filter(message_id__in_array=list(parents)).values_list(
            "message_id", "thread_key"
        )
    )
    rows: list[EmailMessage] = []
    for message in sorted(new, key=lambda m: m.sent_at):
        thread = _thread_key(message, threads)
        threads[message.message_id] = thread  # a later message of the chunk may refer to it
        outbound = message.sent_from_crm or (bool(own) and message.from_address == own)
        rows.append(
            EmailMessage(
                direction=EmailDirection.OUTBOUND if outbound else EmailDirection.INBOUND,
                message_id=message.message_id,
                in_reply_to=message.in_reply_to,
                thread_key=thread,
                from_address=message.from_address[:MAX_ADDRESS],
                to_addresses=", ".join(message.to_addresses),
                cc_addresses=", ".join(message.cc_addresses),
                subject=message.subject[:MAX_SUBJECT],
                body_text=message.body_text,
                body_html=message.body_html,
                sent_from_crm=message.sent_from_crm,
                contact_id=_first(counterparties[message.message_id], contacts),
                lead_id=_first(counterparties[message.message_id], leads),
                mailbox=mailbox.name[:MAX_MAILBOX],
                sent_at=message.sent_at,
            )
        )
    # A concurrent run of the same mailbox may have stored some meanwhile: theirs stay.
    EmailMessage.objects.bulk_create(rows, ignore_conflicts=True)
    _join_threads(rows)
    _mark_replies(rows)
    return len(rows)


def _thread_key(message: ParsedMessage, threads: dict[str, str]) -> str:
    for parent in [*message.references, message.in_reply_to]:
        if parent in threads:
            return threads[parent]
    if message.references:
        return message.references[0]
    return message.in_reply_to or message.message_id


def _join_threads(rows: list[EmailMessage]) -> None:
    """Messages stored earlier whose thread is the id of a message stored now (they referred
    to it before it arrived) join that message's thread, when it belongs to another."""
    moved = {row.message_id: row.thread_key for row in rows if row.thread_key != row.message_id}
    if not moved:
        return
    EmailMessage.objects.filter(thread_key__in_array=list(moved)).update(
        thread_key=Case(
            *(When(thread_key=old, then=Value(new)) for old, new in moved.items()),
            default=F("thread_key"),
        )
    )


def _mark_replies(rows: list[EmailMessage]) -> None:
    """A lead that wrote to a mailbox has replied: its nurture sequence stops."""
    first: dict[int, object] = {}
    for row in rows:
        if row.lead_id is None or row.direction != EmailDirection.INBOUND:
            continue
        if row.lead_id not in first or row.sent_at < first[row.lead_id]:
            first[row.lead_id] = row.sent_at
    if first:
        Lead.objects.filter(Q(pk__in_array=list(first)), replied_at__isnull=True).update(
            replied_at=Case(
                *(
                    When(pk=pk, then=Value(sent_at, output_field=models.DateTimeField()))
                    for pk, sent_at in first.items()
                ),
                default=F("replied_at"),
            )
        )
