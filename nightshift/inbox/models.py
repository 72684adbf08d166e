"""Connected mailboxes and how far each of their folders has been read."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from nightshift.core.models import AuditedModel
from nightshift.inbox.choices import AuthMethod, Security, TokenSource

__all__ = ["Mailbox", "MailboxFolder"]

DEFAULT_PORTS = {Security.TLS: 993, Security.STARTTLS: 143, Security.PLAIN: 143}


class Mailbox(AuditedModel):
    """A mailbox the inbound e-mail process reads over IMAP.

    ``secret`` holds the password or app token (or, for OAuth2 with a stored token, the access
    token). It is write-only for people: the admin and the pages never show it back, and an
    empty value on edit keeps the one stored."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    email_address = models.EmailField(
        _("e-mail address"),
        blank=True,
        help_text=_(
            "The mailbox's own address: messages from it are outbound, and it is never linked "
            "to a contact or lead. Empty: the user name, when it is an address."
        ),
    )
    host = models.CharField(_("IMAP host"), max_length=255)
    port = models.PositiveIntegerField(
        _("port"), default=993, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    security = models.CharField(
        _("connection security"), max_length=10, choices=Security, default=Security.TLS
    )
    username = models.CharField(_("user name"), max_length=255)
    auth_method = models.CharField(
        _("authentication"), max_length=10, choices=AuthMethod, default=AuthMethod.PASSWORD
    )
    secret = models.CharField(_("password or token"), max_length=4096, blank=True)
    token_source = models.CharField(
        _("OAuth2 token source"),
        max_length=10,
        choices=TokenSource,
        default=TokenSource.STORED,
        help_text=_("Where the OAuth2 access token is read at each sync."),
    )
    token_reference = models.CharField(
        _("token variable or file"),
        max_length=500,
        blank=True,
        help_text=_("The environment variable's name or the file's path holding the token."),
    )
    folders = models.CharField(
        _("folders"),
        max_length=500,
        default="INBOX",
        help_text=_("IMAP folders to read, separated by commas (e.g. INBOX, Sent)."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    last_synced_at = models.DateTimeField(_("last synced"), null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")

    def __str__(self) -> str:
        return self.name

    @property
    def own_address(self) -> str:
        """The mailbox's address in lower case, or ``""`` when it has none."""
        address = self.email_address or (self.username if "@" in self.username else "")
        return address.strip().lower()

    def folder_names(self) -> list[str]:
        """The folders to read, in the order given, without blanks or repeats."""
        names: list[str] = []
        for part in self.folders.split(","):
            name = part.strip()
            if name and name not in names:
                names.append(name)
        return names

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if not self.folder_names():
            errors["folders"] = _("Name at least one folder (e.g. INBOX).")
        if (
            self.auth_method == AuthMethod.OAUTH2
            and self.token_source != TokenSource.STORED
            and not self.token_reference.strip()
        ):
            errors["token_reference"] = _(
                "Name the environment variable or the file that holds the OAuth2 token."
            )
        if errors:
            raise ValidationError(errors)


class MailboxFolder(models.Model):
    """How far one folder of a mailbox has been read: the IMAP UIDVALIDITY seen last and the
    highest UID stored under it. A new UIDVALIDITY (the folder was recreated) restarts the
    folder from its first message; messages already stored are recognised by Message-ID."""

    mailbox = models.ForeignKey(
        Mailbox, verbose_name=_("mailbox"), on_delete=models.CASCADE, related_name="folder_states"
    )
    name = models.CharField(_("folder"), max_length=500)
    uid_validity = models.BigIntegerField(_("UIDVALIDITY"), null=True, blank=True)
    last_uid = models.BigIntegerField(_("last UID read"), default=0)
    synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)

    class Meta:
        ordering = ["mailbox", "name"]
        verbose_name = _("mailbox folder")
        verbose_name_plural = _("mailbox folders")
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "name"], name="inbox_folder_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.mailbox} / {self.name}"
