"""The choices of a mailbox's connection settings."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Security(models.TextChoices):
    TLS = "tls", _("TLS (IMAPS, usually port 993)")  # TLS from the first byte
    STARTTLS = "starttls", _("STARTTLS (usually port 143)")  # plain connection upgraded to TLS
    PLAIN = "plain", _("None (plain text: loopback or a trusted network only)")  # no encryption


class AuthMethod(models.TextChoices):
    PASSWORD = "password", _("Password or app token")  # AUTHENTICATE PLAIN, else LOGIN
    OAUTH2 = "oauth2", _("OAuth2 (XOAUTH2)")  # a bearer token, where the server offers XOAUTH2


class TokenSource(models.TextChoices):
    STORED = "stored", _("Stored with the mailbox")  # the secret field holds the access token
    ENVIRONMENT = "env", _("Environment variable")  # read from the named variable at each sync
    FILE = "file", _("File")  # read from the named file at each sync (kept fresh by a refresher)
