"""``nightshift bootstrap``: first-run setup, safe to repeat (``make run`` calls it every time).

1. Creates the administrator when the database has no superuser, and writes its login to
   ``var/admin-credentials.txt`` (mode 600); later runs only say where that file is.
2. Loads the small demo data set when the database holds no CRM data, so a fresh clone shows
   something worth clicking through.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from nightshift.core import roles
from nightshift.core.models import Unit, UserProfile

ADMIN_USERNAME = "admin"
CREDENTIALS_FILE = "admin-credentials.txt"  # under settings.VAR_DIR
# The demo data set uses the same code for its head office, so it adopts this unit.
DEFAULT_UNIT = ("HQ", "Head office")
PASSWORD_BYTES = 18  # 24 URL-safe characters, ~144 bits: beyond guessing, short enough to type
DEMO_SIZE = "small"  # loads in seconds; `make demo SIZE=medium` for more


def credentials_path() -> Path:
    return Path(settings.VAR_DIR) / CREDENTIALS_FILE


def crm_is_empty() -> bool:
    """True when no CRM record exists (the apps operators read: ``roles.CRM_APPS``)."""
    return not any(
        model.objects.exists()
        for label in roles.CRM_APPS
        if apps.is_installed(f"nightshift.{label}")
        for model in apps.get_app_config(label).get_models()
    )


class Command(BaseCommand):
    help = (
        "First-run setup, safe to repeat: create the administrator if there is no superuser "
        "(login written to var/admin-credentials.txt) and load demo data into an empty CRM."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-demo", action="store_true", help="never load demo data, even into an empty CRM"
        )

    def handle(self, *args: object, no_demo: bool, **options: object) -> None:
        self.ensure_administrator()
        if not no_demo:
            self.ensure_demo_data()

    def ensure_administrator(self) -> None:
        path = credentials_path()
        existing = User.objects.filter(is_superuser=True).order_by("pk").first()
        if existing is not None:
            where = f"; its first login is in {path}" if path.exists() else ""
            self.stdout.write(f"Administrator: {existing.username} exists{where}.")
            return
        if User.objects.filter(username=ADMIN_USERNAME).exists():
            raise CommandError(
                f"No superuser exists, but a user named {ADMIN_USERNAME!r} does and is not one. "
                f"Make it one with `nightshift changepassword {ADMIN_USERNAME}` and the admin "
                "site, or create another with `nightshift createsuperuser`."
            )
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        # Migrate syncs the role groups too; repeating it here costs nothing and means the group
        # exists even on a database migrated before the roles were defined.
        roles.sync_role_groups()
        # The file is written inside the transaction: if it cannot be written, no administrator
        # exists whose password nobody knows.
        with transaction.atomic():
            code, name = DEFAULT_UNIT
            unit, _created = Unit.objects.get_or_create(code=code, defaults={"name": name})
            user = User.objects.create_superuser(ADMIN_USERNAME, email="", password=password)
            UserProfile.objects.create(user=user, unit=unit)
            user.groups.add(Group.objects.get(name=roles.ADMINISTRATORS))
            write_private_file(
                path,
                f"# Nightshift administrator, created {timezone.now():%Y-%m-%d %H:%M %Z}.\n"
                "# Change the password after the first login, then delete this file.\n"
                f"username: {ADMIN_USERNAME}\n"
                f"password: {password}\n",
            )
        self.stdout.write(
            self.style.SUCCESS("Created the administrator. Sign in with:")
            + f"\n  username: {ADMIN_USERNAME}\n  password: {password}\n"
            f"(also saved, readable by you only, in {path})"
        )

    def ensure_demo_data(self) -> None:
        if not crm_is_empty():
            self.stdout.write("Demo data: the CRM already holds data; nothing loaded.")
            return
        if "demo" not in get_commands():
            self.stdout.write(
                self.style.WARNING("Demo data: the `demo` command is not available; skipped.")
            )
            return
        self.stdout.write(f"Demo data: the CRM is empty; loading the {DEMO_SIZE} data set.")
        try:
            call_command("demo", size=DEMO_SIZE)
        except CommandError as exc:
            # Demo data is a convenience: the server is still worth starting without it.
            self.stderr.write(self.style.WARNING(f"Demo data not loaded: {exc}"))


def write_private_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only, from the first byte (no window in
    which another user could open it), replacing any earlier file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # An existing file keeps its old mode through O_CREAT; set it explicitly.
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
