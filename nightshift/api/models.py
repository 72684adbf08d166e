"""Personal API tokens: a user's credential for scripts and integrations.

Only a SHA-256 digest of the secret is stored, so a copy of the database cannot be replayed
against the API. The secret itself is shown once, when the token is created.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nightshift.core.models import AuditedModel

__all__ = ["ApiToken", "ApiTokenStatus"]

# Recognisable by secret scanners and by people reading a log ("what is this string?"), as
# GitHub's "ghp_" tokens are.
TOKEN_MARKER = "nst_"  # noqa: S105 — a public marker, not a secret
# 32 random bytes (256 bits): brute force is out of reach, so one unsalted hash is enough.
SECRET_BYTES = 32
# Marker + 8 random characters: enough to tell a user's tokens apart in a list, far too little
# to help guess the rest.
PREFIX_LENGTH = len(TOKEN_MARKER) + 8
# Writing last_used_at on every request would turn every API read into a write (and, on
# SQLite, a lock); a minute is precise enough to answer "is this token still used?".
LAST_USED_PRECISION = timedelta(minutes=1)


class ApiTokenStatus(models.TextChoices):
    ACTIVE = "active", _("Active")  # accepted by the API
    EXPIRED = "expired", _("Expired")  # its expiry date has passed; refused
    REVOKED = "revoked", _("Revoked")  # revoked by its owner or an administrator; refused


class ApiToken(AuditedModel):
    """A personal API token. Acts with exactly the permissions of its user."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(
        _("name"), max_length=100, help_text=_("What the token is for, e.g. “nightly export”.")
    )
    prefix = models.CharField(_("prefix"), max_length=PREFIX_LENGTH, editable=False)
    secret_hash = models.CharField(_("secret hash"), max_length=64, unique=True, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        permissions = [("revoke_any_apitoken", _("Can revoke any user's API token"))]
        indexes = [models.Index(fields=["user", "-created_at"], name="api_token_user_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def new_secret(cls) -> str:
        return TOKEN_MARKER + secrets.token_urlsafe(SECRET_BYTES)

    def set_secret(self, secret: str) -> None:
        self.prefix = secret[:PREFIX_LENGTH]
        self.secret_hash = self.hash_secret(secret)

    def status_at(self, now: datetime) -> ApiTokenStatus:
        if self.revoked_at is not None:
            return ApiTokenStatus.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return ApiTokenStatus.EXPIRED
        return ApiTokenStatus.ACTIVE

    @property
    def status(self) -> ApiTokenStatus:
        return self.status_at(timezone.now())

    def revoke(self, now: datetime) -> None:
        """Refuse the token from now on. Revoking twice keeps the first date."""
        if self.revoked_at is None:
            self.revoked_at = now
            self.save(update_fields=["revoked_at"])

    def mark_used(self, now: datetime) -> None:
        """Record a use, at most once per LAST_USED_PRECISION.

        The conditional UPDATE lets concurrent requests race safely (one of them writes), and
        goes through the base manager on purpose: a use is not an edit, so the record's
        "updated by/at" log information must not move.
        """
        if self.last_used_at is not None and now - self.last_used_at < LAST_USED_PRECISION:
            return
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION)
        type(self)._base_manager.filter(stale, pk=self.pk).update(last_used_at=now)
        self.last_used_at = now
