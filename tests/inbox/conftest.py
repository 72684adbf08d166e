"""Fixtures of the inbound e-mail tests: a Dovecot server per test session (per xdist worker),
a fresh IMAP account per test, mailboxes pointing at it, and messages to deliver."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime

import pytest
from django.utils import translation

from nightshift.inbox.choices import Security
from nightshift.inbox.models import Mailbox
from tests.inbox.dovecot import INSTALL_HINT, Dovecot, find_dovecot


@pytest.fixture(autouse=True)
def _english():
    """Operator messages are asserted in English; a page test that switched the language to
    Portuguese must not leave it active for the next test of the same worker."""
    with translation.override("en"):
        yield


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[Dovecot]:
    binary = find_dovecot()
    if binary is None:
        # A test that needs Dovecot fails without it, never skips (as PostgreSQL's do).
        pytest.fail(INSTALL_HINT)
    server = Dovecot(binary).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def dovecot(dovecot_server) -> Dovecot:
    return dovecot_server


@pytest.fixture
def make_mailbox(db, dovecot) -> Callable[..., Mailbox]:
    """A mailbox on a fresh Dovecot account (``user`` to share one)."""

    def make(name: str = "Sales", *, user: str | None = None, **fields) -> Mailbox:
        user = user or dovecot.add_user()
        values = {
            "host": dovecot.host,
            "port": dovecot.port,
            "security": Security.PLAIN,
            "username": user,
            "secret": "secret",
        }
        values.update(fields)
        return Mailbox.objects.create(name=name, **values)

    return make


def mail(
    *,
    subject: str = "Hello",
    sender: str = "ana@example.com",
    to: str = "sales@example.test",
    cc: str | None = None,
    message_id: str | None = "<m1@example.com>",
    in_reply_to: str | None = None,
    references: str | None = None,
    body: str = "Hi there.",
    html: str | None = None,
    headers: dict[str, str] | None = None,
    date=None,
) -> bytes:
    """An RFC 5322 message as a mail client would send it (non-ASCII becomes encoded words)."""
    message = MimeMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    if date is not None:
        message["Date"] = format_datetime(date)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    return bytes(message)
