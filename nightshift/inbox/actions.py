"""Every write to mailboxes: creating and editing one (the secret is write-only)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from nightshift.core.audit import acting_as
from nightshift.inbox.choices import AuthMethod, TokenSource
from nightshift.inbox.models import Mailbox
from nightshift.runs.actions import log, require
from nightshift.runs.models import LogEntry

__all__ = ["ADD", "CHANGE", "EDITABLE_FIELDS", "VIEW", "create_mailbox", "edit_mailbox"]

VIEW = "inbox.view_mailbox"
ADD = "inbox.add_mailbox"
CHANGE = "inbox.change_mailbox"
EDITABLE_FIELDS = (
    "name",
    "email_address",
    "host",
    "port",
    "security",
    "username",
    "auth_method",
    "secret",
    "token_source",
    "token_reference",
    "folders",
    "is_active",
)


def _needs_secret(mailbox: Mailbox) -> bool:
    return mailbox.auth_method == AuthMethod.PASSWORD or (
        mailbox.token_source == TokenSource.STORED
    )


def _validate(mailbox: Mailbox) -> None:
    """``full_clean`` plus: a password (or a stored token) is required."""
    errors: dict[str, list[str]] = {}
    try:
        mailbox.full_clean()
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if _needs_secret(mailbox) and not mailbox.secret:
        message = (
            _("Enter the password or app token.")
            if mailbox.auth_method == AuthMethod.PASSWORD
            else _("Enter the OAuth2 access token, or choose another token source.")
        )
        errors.setdefault("secret", []).append(message)
    if errors:
        raise ValidationError(errors)


def create_mailbox(*, user: AbstractUser, **fields: Any) -> Mailbox:
    """Create a mailbox from the fields of the mailbox screen. Raises ``ValidationError``
    naming each field at fault, ``PermissionDenied`` without the add permission."""
    require(user, ADD)
    mailbox = Mailbox(**{name: value for name, value in fields.items() if name in EDITABLE_FIELDS})
    _validate(mailbox)
    with acting_as(user), transaction.atomic():
        mailbox.save()
        log(
            _("%(user)s created mailbox “%(name)s”.") % {"user": user, "name": mailbox.name},
            source=LogEntry.Source.OPERATOR,
            user=user,
        )
    return mailbox


def edit_mailbox(*, user: AbstractUser, pk: int, **changes: Any) -> Mailbox:
    """Change a mailbox. An empty ``secret`` keeps the stored one: the screens never show it,
    so leaving the field blank must not erase it. Changing the host, port or user name resets
    nothing: messages already stored are recognised by Message-ID."""
    require(user, CHANGE)
    with acting_as(user), transaction.atomic():
        mailbox = Mailbox.objects.select_for_update().get(pk=pk)
        for name, value in changes.items():
            if name not in EDITABLE_FIELDS or (name == "secret" and not value):
                continue
            setattr(mailbox, name, value)
        _validate(mailbox)
        mailbox.save()
        log(
            _("%(user)s changed mailbox “%(name)s”.") % {"user": user, "name": mailbox.name},
            source=LogEntry.Source.OPERATOR,
            user=user,
        )
    return mailbox
