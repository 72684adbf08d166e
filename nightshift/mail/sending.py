"""The one way Nightshift sends e-mail: a batch of letters, one SMTP connection, the
suppression list checked here and nowhere else, every sent message recorded.

``send_letters`` is the only function that hands a message to Django's mailers (processes,
views and commands call it, never ``send_mail``). For a batch it:

1. normalises the addresses and drops letters without a usable one;
2. reads, in one query, which addresses are on the suppression list: those letters are never
   sent and each skip is written to the run's log (one line per record);
3. reads, in one query, which deterministic Message-IDs were already sent: a letter whose
   Message-ID exists is not sent again, which is what makes re-running a process the same day
   harmless (e.g. ``<birthday.20261122.42@example.com>``);
4. opens one connection to the mailer, sends each letter as ``EmailMultiAlternatives`` (text,
   plus HTML when the template has it), reconnecting once if the server drops the connection,
   and reports a refused letter without stopping the others;
5. records every sent letter as an outbound ``EmailMessage`` with one bulk insert.

It runs inside the caller's transaction (a process batch): if that transaction rolls back after
the SMTP server accepted a letter, the letter is out but its record is not, and a later run may
send it again. Mail cannot be unsent; the engine rolls a batch back only when it is stopped or
taken over, which is rare, so this is the accepted trade-off (an outbox table sent after commit
would trade it for letters recorded but never sent after a crash).
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import make_msgid, parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, mailers
from django.core.validators import validate_email
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from nightshift.mail.models import EmailDirection, EmailMessage, SuppressionEntry

__all__ = ["Delivery", "DeliveryStatus", "Letter", "message_id_for", "send_letters"]

logger = logging.getLogger(__name__)


class DeliveryStatus(models.TextChoices):
    SENT = "sent", gettext_lazy("Sent")  # accepted by the mail server
    SUPPRESSED = "suppressed", gettext_lazy("Suppressed")  # on the suppression list: not sent
    ALREADY_SENT = "already_sent", gettext_lazy("Already sent")  # same Message-ID sent before
    NO_ADDRESS = "no_address", gettext_lazy("No address")  # blank or invalid address
    FAILED = "failed", gettext_lazy("Failed")  # the mail server refused it or was unreachable


@dataclass(frozen=True, slots=True)
class Letter:
    """One message to one address, already rendered. ``key`` is the record it is about (the
    outcome's record id); ``message_id`` makes the send idempotent when given."""

    key: Hashable
    to: str
    subject: str
    text: str
    html: str = ""
    name: str = ""
    message_id: str = ""
    template_id: int | None = None
    contact_id: int | None = None
    lead_id: int | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one letter."""

    key: Hashable
    status: DeliveryStatus
    address: str
    message: str

    @property
    def ok(self) -> bool:
        """Sent, or deliberately not sent (suppressed, already sent): nothing for the operator
        to fix. A missing address or a refusal is an error of the record."""
        return self.status in (
            DeliveryStatus.SENT,
            DeliveryStatus.SUPPRESSED,
            DeliveryStatus.ALREADY_SENT,
        )


def _from_address(from_email: str | None) -> tuple[str, str]:
    """(header value, bare address) of the sender."""
    header = from_email or settings.DEFAULT_FROM_EMAIL
    return header, parseaddr(header)[1] or header


def _domain() -> str:
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "nightshift.localhost"


def message_id_for(purpose: str, *parts: object) -> str:
    """A deterministic Message-ID: the same purpose and parts give the same id, so the same
    letter is sent once (``message_id_for("birthday", "20261122", 42)``)."""
    token = ".".join([purpose, *(str(part) for part in parts)])
    return f"<{token}@{_domain()}>"


def _normalised(address: str) -> str:
    address = (address or "").strip().lower()
    try:
        validate_email(address)
    except ValidationError:
        return ""
    return address


def _recipient(letter: Letter, address: str) -> str:
    if not letter.name:
        return address
    user, _at, domain = address.partition("@")
    # Address() quotes a name with commas or quotes; Django then encodes non-ASCII names.
    return str(Address(display_name=letter.name, username=user, domain=domain))


def send_letters(
    letters: Sequence[Letter],
    *,
    run_number: int | None = None,
    from_email: str | None = None,
    mailer: str = "default",
) -> dict[Hashable, Delivery]:
    """Send ``letters`` (see the module's steps); returns one ``Delivery`` per letter key.

    Never raises for a letter: an unreachable server makes every remaining letter ``FAILED``
    with the server's message. ``run_number`` links the suppression skips to the run's log.
    """
    deliveries: dict[Hashable, Delivery] = {}
    addresses: dict[Hashable, str] = {}
    for letter in letters:
        address = _normalised(letter.to)
        if not address:
            deliveries[letter.key] = Delivery(
                letter.key,
                DeliveryStatus.NO_ADDRESS,
                letter.to,
                _("Not sent: “%(address)s” is not a valid e-mail address.") % {"address": letter.to}
                if letter.to
                else _("Not sent: no e-mail address."),
            )
        else:
            addresses[letter.key] = address

    suppressed = _suppressed(set(addresses.values()))
    sent_before = set(
        EmailMessage.objects.filter(
            message_id__in=[letter.message_id for letter in letters if letter.message_id]
        ).values_list("message_id", flat=True)
    )
    to_send: list[Letter] = []
    for letter in letters:
        address = addresses.get(letter.key)
        if address is None:
            continue
        if address in suppressed:
            deliveries[letter.key] = Delivery(
                letter.key,
                DeliveryStatus.SUPPRESSED,
                address,
                _("Not sent: %(address)s is on the suppression list (%(reason)s).")
                % {"address": address, "reason": suppressed[address] or _("no reason given")},
            )
        elif letter.message_id and letter.message_id in sent_before:
            deliveries[letter.key] = Delivery(
                letter.key,
                DeliveryStatus.ALREADY_SENT,
                address,
                _("Not sent again: %(id)s was already sent to %(address)s.")
                % {"id": letter.message_id, "address": address},
            )
        else:
            to_send.append(letter)

    sent = _deliver(to_send, addresses, deliveries, from_email=from_email, alias=mailer)
    _record(sent, addresses, from_email=from_email)
    _log_skips(deliveries.values(), run_number)
    return deliveries


def _suppressed(addresses: set[str]) -> dict[str, str]:
    """Address → reason, for the addresses of ``addresses`` on the suppression list."""
    if not addresses:
        return {}
    return dict(SuppressionEntry.objects.filter(email__in=addresses).values_list("email", "reason"))


def _deliver(
    letters: list[Letter],
    addresses: dict[Hashable, str],
    deliveries: dict[Hashable, Delivery],
    *,
    from_email: str | None,
    alias: str,
) -> list[tuple[Letter, str]]:
    """Send over one connection; returns (letter, Message-ID) of those the server accepted."""
    if not letters:
        return []
    header, _bare = _from_address(from_email)
    domain = _domain()
    sent: list[tuple[Letter, str]] = []
    connection = mailers[alias]
    try:
        connection.open()
    except Exception as exc:  # the server is down: every letter fails, with its reason
        logger.warning("Could not connect to the %s mailer: %s", alias, exc)
        for letter in letters:
            deliveries[letter.key] = _failed(letter, addresses, exc)
        return []
    try:
        for letter in letters:
            address = addresses[letter.key]
            message_id = letter.message_id or make_msgid(domain=domain)
            message = EmailMultiAlternatives(
                letter.subject,
                letter.text,
                header,
                [_recipient(letter, address)],
                headers={"Message-ID": message_id},
            )
            if letter.html:
                message.attach_alternative(letter.html, "text/html")
            try:
                _send_one(connection, message)
            except Exception as exc:
                deliveries[letter.key] = _failed(letter, addresses, exc)
                continue
            deliveries[letter.key] = Delivery(
                letter.key,
                DeliveryStatus.SENT,
                address,
                _("Sent to %(address)s.") % {"address": address},
            )
            sent.append((letter, message_id))
    finally:
        try:
            connection.close()
        except Exception:  # closing a dropped connection may fail; the letters are out
            logger.debug("closing the %s mailer failed", alias, exc_info=True)
    return sent


def _send_one(connection, message: EmailMultiAlternatives) -> None:
    try:
        connection.send_messages([message])
    except smtplib.SMTPServerDisconnected:
        # A long batch may outlive the server's idle timeout: reconnect once and retry.
        connection.close()
        connection.open()
        connection.send_messages([message])


def _failed(letter: Letter, addresses: dict[Hashable, str], exc: Exception) -> Delivery:
    address = addresses[letter.key]
    return Delivery(
        letter.key,
        DeliveryStatus.FAILED,
        address,
        _("Not sent to %(address)s: the mail server answered: %(error)s")
        % {"address": address, "error": exc},
    )


def _record(
    sent: Iterable[tuple[Letter, str]], addresses: dict[Hashable, str], *, from_email
) -> None:
    """The outbound messages, one bulk insert."""
    _header, bare = _from_address(from_email)
    now = timezone.now()
    EmailMessage.objects.bulk_create(
        (
            EmailMessage(
                direction=EmailDirection.OUTBOUND,
                message_id=message_id,
                thread_key=message_id,
                from_address=bare,
                to_addresses=addresses[letter.key],
                subject=letter.subject[:400],
                body_text=letter.text,
                body_html=letter.html,
                sent_from_crm=True,
                template_id=letter.template_id,
                contact_id=letter.contact_id,
                lead_id=letter.lead_id,
                mailbox=bare,
                sent_at=now,
            )
            for letter, message_id in sent
        ),
        # Two runs racing on the same letter both sent it; one record is enough.
        ignore_conflicts=True,
    )


def _log_skips(deliveries: Iterable[Delivery], run_number: int | None) -> None:
    """One line in the run's log per suppressed letter, whatever the run's log level."""
    skipped = [d for d in deliveries if d.status == DeliveryStatus.SUPPRESSED]
    if not skipped:
        return
    for delivery in skipped:
        logger.info("%s (record %s)", delivery.message, delivery.key)
    if run_number is None:
        return
    from nightshift.runs.models import LogEntry

    LogEntry.objects.bulk_create(
        LogEntry(
            run_id=run_number,
            source=LogEntry.Source.RUN,
            level=LogEntry.Level.INFO,
            message=_("Record %(key)s: %(message)s")
            % {"key": delivery.key, "message": delivery.message},
        )
        for delivery in skipped
    )
