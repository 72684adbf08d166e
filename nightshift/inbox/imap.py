"""Talking IMAP to a mailbox with the standard library's ``imaplib``: connect, authenticate
(password or app token, or an OAuth2 bearer token over XOAUTH2), and read a folder's messages
above a UID without marking them read.

Every failure an operator can act on becomes a ``MailboxError`` whose message says what went
wrong in words (host and port refused, login refused, folder missing, XOAUTH2 not offered).
"""

from __future__ import annotations

import base64
import imaplib
import os
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from django.utils.translation import gettext as _

from nightshift.inbox.choices import AuthMethod, Security, TokenSource
from nightshift.inbox.models import Mailbox

__all__ = ["FolderState", "MailboxError", "fetch_new", "oauth2_token", "open_mailbox"]

TIMEOUT = 30  # seconds a connect or a reply may take: a hung server must not hold a run forever
FETCH_CHUNK = 100  # messages per UID FETCH: one round trip each, bounded memory
_UID = re.compile(rb"\bUID (\d+)")


class MailboxError(Exception):
    """The mailbox cannot be read, for a reason the operator can act on."""


def _reason(exc: BaseException) -> str:
    """The server's or the system's words for ``exc``, without Python's wrapping."""
    if isinstance(exc, imaplib.IMAP4.error) and exc.args:
        arg = exc.args[0]
        return arg.decode(errors="replace") if isinstance(arg, bytes) else str(arg)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def oauth2_token(mailbox: Mailbox) -> str:
    """The OAuth2 access token from the mailbox's configured source."""
    if mailbox.token_source == TokenSource.STORED:
        token = mailbox.secret
    elif mailbox.token_source == TokenSource.ENVIRONMENT:
        token = os.environ.get(mailbox.token_reference.strip(), "")
        if not token:
            raise MailboxError(
                _("the environment variable %(name)s holding the OAuth2 token is not set")
                % {"name": mailbox.token_reference}
            )
    else:
        try:
            token = Path(mailbox.token_reference.strip()).read_text(encoding="utf-8")
        except OSError as exc:
            raise MailboxError(
                _("the OAuth2 token file %(path)s cannot be read: %(reason)s")
                % {"path": mailbox.token_reference, "reason": _reason(exc)}
            ) from None
    token = token.strip()
    if not token:
        raise MailboxError(_("no OAuth2 token is configured"))
    return token


def _connect(mailbox: Mailbox) -> imaplib.IMAP4:
    where = {"host": mailbox.host, "port": mailbox.port}
    try:
        if mailbox.security == Security.TLS:
            return imaplib.IMAP4_SSL(
                mailbox.host,
                mailbox.port,
                ssl_context=ssl.create_default_context(),
                timeout=TIMEOUT,
            )
        connection = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=TIMEOUT)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(
            _("cannot connect to %(host)s:%(port)s: %(reason)s") % {**where, "reason": _reason(exc)}
        ) from None
    if mailbox.security == Security.STARTTLS:
        try:
            connection.starttls(ssl_context=ssl.create_default_context())
        except (OSError, imaplib.IMAP4.error) as exc:
            _close(connection)
            raise MailboxError(
                _("%(host)s:%(port)s refused STARTTLS: %(reason)s")
                % {**where, "reason": _reason(exc)}
            ) from None
    return connection


def _authenticate(connection: imaplib.IMAP4, mailbox: Mailbox) -> None:
    username = mailbox.username
    try:
        if mailbox.auth_method == AuthMethod.OAUTH2:
            if "AUTH=XOAUTH2" not in connection.capabilities:
                raise MailboxError(
                    _("the server %(host)s does not offer XOAUTH2 sign-in") % {"host": mailbox.host}
                )
            token = oauth2_token(mailbox)
            sent = []

            def xoauth2(challenge: bytes) -> bytes:
                # A refusal arrives as a challenge carrying the error; the empty answer ends
                # the exchange so the server says NO instead of waiting.
                if sent:
                    return b""
                sent.append(True)
                return f"user={username}\x01auth=Bearer {token}\x01\x01".encode()

            connection.authenticate("XOAUTH2", xoauth2)
        elif "AUTH=PLAIN" in connection.capabilities:
            # AUTHENTICATE PLAIN carries UTF-8, where LOGIN's quoted strings are ASCII only.
            credentials = f"\0{username}\0{mailbox.secret}".encode()
            connection.authenticate("PLAIN", lambda challenge: credentials)
        else:
            connection.login(username, mailbox.secret)
    except imaplib.IMAP4.error as exc:
        raise MailboxError(
            _("the server %(host)s refused the sign-in of %(user)s: %(reason)s")
            % {"host": mailbox.host, "user": username, "reason": _reason(exc)}
        ) from None
    except (OSError, UnicodeError) as exc:
        raise MailboxError(
            _("signing in to %(host)s failed: %(reason)s")
            % {"host": mailbox.host, "reason": _reason(exc)}
        ) from None


def _close(connection: imaplib.IMAP4) -> None:
    with suppress(OSError, imaplib.IMAP4.error):  # the session is over either way
        connection.logout()


@contextmanager
def open_mailbox(mailbox: Mailbox) -> Iterator[imaplib.IMAP4]:
    """A signed-in IMAP connection to ``mailbox``, logged out at the end of the block."""
    connection = _connect(mailbox)
    try:
        _authenticate(connection, mailbox)
        yield connection
    finally:
        _close(connection)


def encode_folder(name: str) -> str:
    """``name`` as an IMAP quoted string in modified UTF-7 (RFC 3501 5.1.3), the form servers
    expect for folder names such as "Itens enviados" or "Entrée"."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if " " <= char <= "~":
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    encoded = "".join(out).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{encoded}"'


class FolderState:
    """What the server said about a folder when it was opened."""

    def __init__(self, uid_validity: int, restarted: bool) -> None:
        self.uid_validity = uid_validity
        self.restarted = restarted  # the stored UIDVALIDITY no longer holds: read from UID 1


def open_folder(connection: imaplib.IMAP4, folder: str, *, uid_validity: int | None) -> FolderState:
    """Open ``folder`` read-only (EXAMINE: nothing is marked read or changed)."""
    try:
        status, data = connection.select(encode_folder(folder), readonly=True)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(
            _("the folder %(folder)s cannot be opened: %(reason)s")
            % {"folder": folder, "reason": _reason(exc)}
        ) from None
    if status != "OK":
        reason = data[0].decode(errors="replace") if data and data[0] else status
        raise MailboxError(
            _("the folder %(folder)s cannot be opened: %(reason)s")
            % {"folder": folder, "reason": reason}
        )
    _typ, values = connection.response("UIDVALIDITY")
    validity = int(values[0]) if values and values[0] else 0
    return FolderState(validity, restarted=uid_validity is not None and uid_validity != validity)


def fetch_new(
    connection: imaplib.IMAP4, *, after_uid: int, limit: int
) -> Iterator[list[tuple[int, bytes]]]:
    """The messages of the open folder above ``after_uid``, ascending by UID, at most
    ``limit`` of them, in chunks of ``(uid, raw message)``."""
    try:
        _status, data = connection.uid("SEARCH", f"UID {after_uid + 1}:*")
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(
            _("searching the folder failed: %(reason)s") % {"reason": _reason(exc)}
        ) from None
    # "n:*" always matches the highest UID, even below n: keep only those above the mark.
    uids = sorted(int(uid) for uid in (data[0] or b"").split() if int(uid) > after_uid)[:limit]
    for start in range(0, len(uids), FETCH_CHUNK):
        chunk = uids[start : start + FETCH_CHUNK]
        try:
            _status, data = connection.uid("FETCH", ",".join(map(str, chunk)), "(UID BODY.PEEK[])")
        except (TimeoutError, OSError, imaplib.IMAP4.error) as exc:
            raise MailboxError(
                _("fetching messages failed: %(reason)s") % {"reason": _reason(exc)}
            ) from None
        messages = []
        for part in data:
            # Each message is (b"n (UID u BODY[] {size}", raw); the closing b")" is skipped.
            if isinstance(part, tuple) and (match := _UID.search(part[0])):
                messages.append((int(match.group(1)), part[1]))
        messages.sort()
        yield messages
