"""``nightshift tokens create|list|revoke``: personal API tokens from the command line."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from nightshift.api.actions import create_token, revoke_token
from nightshift.api.models import ApiToken
from nightshift.core.audit import acting_as


def _isoformat(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def token_summary(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "user": token.user.get_username(),
        "status": str(token.status),
        "created_at": _isoformat(token.created_at),
        "last_used_at": _isoformat(token.last_used_at),
        "expires_at": _isoformat(token.expires_at),
        "revoked_at": _isoformat(token.revoked_at),
    }


class Command(BaseCommand):
    help = "Create, list and revoke personal API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        def add_user(subparser: CommandParser) -> None:
            subparser.add_argument(
                "--user",
                default=os.environ.get("NIGHTSHIFT_USER"),
                help="Act as this user (default: the NIGHTSHIFT_USER environment variable).",
            )

        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser("create", help="Create a token and print its secret once.")
        add_user(create)
        create.add_argument("--name", required=True, help="What the token is for.")
        create.add_argument(
            "--expires-in-days", type=int, help="Refuse the token after N days (default: never)."
        )
        create.add_argument("--json", action="store_true", help="Print JSON.")

        listing = actions.add_parser("list", help="List the user's tokens (never the secrets).")
        add_user(listing)
        listing.add_argument("--json", action="store_true", help="Print JSON.")

        revoke = actions.add_parser("revoke", help="Revoke a token.")
        revoke.add_argument("id", type=int, help="The token's id (see `tokens list`).")
        add_user(revoke)
        revoke.add_argument("--json", action="store_true", help="Print JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = self._user(options["user"])
        with acting_as(user):
            getattr(self, f"_{options['action']}")(user, options)

    def _user(self, username: str | None):
        if not username:
            raise CommandError("Give --user USERNAME or set NIGHTSHIFT_USER.")
        try:
            user = get_user_model()._default_manager.get_by_natural_key(username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        if not user.is_active:
            raise CommandError(f"The account {username!r} is disabled.")
        return user

    def _create(self, user, options: dict[str, Any]) -> None:
        days = options["expires_in_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-in-days must be at least 1.")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        try:
            token, secret = create_token(user=user, name=options["name"], expires_at=expires_at)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        if options["json"]:
            self.stdout.write(json.dumps({**token_summary(token), "token": secret}, indent=2))
            return
        self.stdout.write(f"Created token {token.pk} “{token.name}” for {user.get_username()}.")
        self.stdout.write(secret)
        self.stdout.write(
            self.style.WARNING("Copy it now: it is shown only once and cannot be retrieved.")
        )

    def _list(self, user, options: dict[str, Any]) -> None:
        tokens = [
            token_summary(t) for t in ApiToken.objects.filter(user=user).select_related("user")
        ]
        if options["json"]:
            self.stdout.write(json.dumps(tokens, indent=2))
            return
        if not tokens:
            self.stdout.write(f"{user.get_username()} has no API tokens.")
            return
        columns = ("id", "prefix", "name", "status", "created_at", "last_used_at", "expires_at")
        self.stdout.write("\t".join(columns))
        for token in tokens:
            self.stdout.write("\t".join(str(token[column] or "-") for column in columns))

    def _revoke(self, user, options: dict[str, Any]) -> None:
        try:
            token = revoke_token(user=user, token_id=options["id"])
        except ApiToken.DoesNotExist:
            raise CommandError(
                f"No API token {options['id']} that {user.get_username()} may revoke."
            ) from None
        if options["json"]:
            self.stdout.write(json.dumps(token_summary(token), indent=2))
            return
        self.stdout.write(f"Revoked token {token.pk} “{token.name}” ({token.prefix}…).")
