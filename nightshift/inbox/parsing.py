"""One raw message (RFC 5322 bytes) → the fields the CRM stores, with the ``email`` package
and ``policy.default`` (which decodes encoded words such as ``=?utf-8?q?Jo=C3=A3o?=``).

Message ids keep their angle brackets, as in the header (``<abc@example.com>``): the form
``django.core.mail.make_msgid`` produces, so a message the CRM sent and the copy read back
from a mailbox carry the same id.
"""

from __future__ import annotations

import datetime
import email
import hashlib
import os
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage as MimeMessage
from email.utils import getaddresses

from django.conf import settings
from django.utils import timezone

__all__ = ["CRM_HEADER", "ParsedMessage", "is_sent_from_crm", "message_ids", "parse"]

# The header the CRM sets on every message it sends (value: anything, e.g. the stored
# message's id). A message carrying it is tagged "sent from the CRM".
CRM_HEADER = "X-Nightshift-Message"
# Message ids longer than the column are replaced by a digest of themselves (stable).
MAX_ID_LENGTH = 255
SYNTHETIC_DOMAIN = "synthetic.nightshift.invalid"  # RFC 2606: can never be a real domain
# Headers a message gains on its way into each mailbox: left out of a synthetic id, so the
# same message delivered to two mailboxes gets the same one.
_HASHED_HEADERS = ("from", "to", "cc", "date", "subject")
_ID = re.compile(r"<[^<>\s]+>")


@dataclass
class ParsedMessage:
    message_id: str
    in_reply_to: str
    references: list[str]
    from_address: str
    to_addresses: list[str]
    cc_addresses: list[str]
    subject: str
    body_text: str
    body_html: str
    sent_at: datetime.datetime
    sent_from_crm: bool
    names: dict[str, str] = field(default_factory=dict)  # address -> display name

    def addresses(self) -> list[str]:
        """Every address of the message, lower case, From first, without repeats."""
        seen: list[str] = []
        for address in [self.from_address, *self.to_addresses, *self.cc_addresses]:
            if address and address not in seen:
                seen.append(address)
        return seen


def _normalise_id(value: str) -> str:
    if len(value) <= MAX_ID_LENGTH:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()
    return f"<{digest}@{SYNTHETIC_DOMAIN}>"


def message_ids(value: str | None) -> list[str]:
    """The message ids in a Message-ID, In-Reply-To or References header, in order. A bare
    id without brackets (some old mailers) counts as one id."""
    if not value:
        return []
    text = str(value)
    found = _ID.findall(text)
    if not found and text.strip() and " " not in text.strip():
        found = [f"<{text.strip().strip('<>')}>"]
    return [_normalise_id(item) for item in found]


def _header(message: MimeMessage, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError):  # a header the parser cannot make sense of
        value = message.get_all(name, [""])[0] if name in message else ""
    return str(value or "").strip()


def _addresses(message: MimeMessage, name: str, names: dict[str, str]) -> list[str]:
    result: list[str] = []
    for header in message.get_all(name, []):
        try:
            pairs = [(a.display_name, a.addr_spec) for a in header.addresses]
        except AttributeError:  # unparseable: fall back to the lenient parser
            pairs = getaddresses([str(header)])
        for display, spec in pairs:
            address = spec.strip().lower()
            if "@" not in address or address in result:
                continue
            result.append(address)
            if display:
                names.setdefault(address, display)
    return result


def _content(part: MimeMessage | None) -> str:
    if part is None:
        return ""
    try:
        text = part.get_content()
    except (LookupError, UnicodeError, ValueError):  # an unknown or lying charset
        payload = part.get_payload(decode=True) or b""
        text = payload.decode("utf-8", errors="replace")
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return text.replace("\x00", "")  # PostgreSQL text cannot hold NUL


def _bodies(message: MimeMessage) -> tuple[MimeMessage | None, MimeMessage | None]:
    """The preferred text/plain and text/html parts. A single-part message (most mail) is
    answered from its one content type: ``get_body`` parses that header again at every step."""
    try:
        content_type = message.get_content_type()
        if not content_type.startswith("multipart/"):
            return (
                message if content_type == "text/plain" else None,
                message if content_type == "text/html" else None,
            )
        return (
            message.get_body(preferencelist=("plain",)),
            message.get_body(preferencelist=("html",)),
        )
    except (KeyError, ValueError, TypeError):
        return None, None


def _sent_at(message: MimeMessage) -> datetime.datetime:
    try:
        header = message["Date"]
        value = getattr(header, "datetime", None)
    except (ValueError, IndexError, TypeError):
        value = None
    if value is None:
        return timezone.now()
    if timezone.is_naive(value):  # "-0000": the sender's zone is unknown; read it as UTC
        value = value.replace(tzinfo=datetime.UTC)
    return value


def _synthetic_id(message: MimeMessage, raw: bytes) -> str:
    digest = hashlib.sha256()
    for name in _HASHED_HEADERS:
        digest.update(f"{name}:{_header(message, name)}\n".encode(errors="replace"))
    # The body as sent: everything after the first blank line, line endings unified.
    body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")[2]
    digest.update(body)
    return f"<{digest.hexdigest()}@{SYNTHETIC_DOMAIN}>"


def _raw_headers(message: MimeMessage) -> dict[str, str]:
    """The first value of each header as sent, unparsed: ids need no decoding, and parsing
    every header through ``policy.default`` costs more than the rest of the message."""
    raw: dict[str, str] = {}
    for name, value in message.raw_items():
        raw.setdefault(name.lower(), str(value))
    return raw


def is_sent_from_crm(headers: dict[str, str], message_id: str) -> bool:
    """Whether the CRM sent a message: it carries ``CRM_HEADER``, or its Message-ID's domain
    is ``NIGHTSHIFT_MESSAGE_ID_DOMAIN`` (a Django setting, else the environment variable of
    that name; unset: the header alone decides)."""
    if CRM_HEADER.lower() in headers:
        return True
    domain = getattr(settings, "NIGHTSHIFT_MESSAGE_ID_DOMAIN", None)
    if domain is None:
        domain = os.environ.get("NIGHTSHIFT_MESSAGE_ID_DOMAIN", "")
    return bool(domain) and message_id.rstrip(">").lower().endswith("@" + domain.lower())


def parse(raw: bytes) -> ParsedMessage:
    """The stored fields of the message ``raw``. Never raises on a malformed message: what
    cannot be read is left empty, and a message without a Message-ID gets a synthetic one
    hashed from its From, To, Cc, Date, Subject and body (the same in every mailbox)."""
    message = email.message_from_bytes(raw, policy=policy.default)
    headers = _raw_headers(message)
    ids = message_ids(headers.get("message-id"))
    message_id = ids[0] if ids else _synthetic_id(message, raw)
    references = message_ids(headers.get("references"))
    parents = message_ids(headers.get("in-reply-to"))
    names: dict[str, str] = {}
    from_addresses = _addresses(message, "From", names)
    text_part, html_part = _bodies(message)
    return ParsedMessage(
        message_id=message_id,
        in_reply_to=parents[0] if parents else "",
        references=references,
        from_address=from_addresses[0] if from_addresses else "",
        to_addresses=_addresses(message, "To", names),
        cc_addresses=_addresses(message, "Cc", names),
        subject=" ".join(_header(message, "Subject").split()),
        body_text=_content(text_part),
        body_html=_content(html_part),
        sent_at=_sent_at(message),
        sent_from_crm=is_sent_from_crm(headers, message_id),
        names=names,
    )
