"""Compile the project's gettext catalogues (.po) to the .mo files Django loads.

Pure Python (Babel), so a machine without the gettext binaries can still run `make messages`;
Django's own ``compilemessages`` needs ``msgfmt``. The .mo files are build output and are not
committed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

import nightshift


def _locale_of(po_path: Path) -> Locale | None:
    # The directory (<locale>/LC_MESSAGES/django.po) names the language; Babel needs it to
    # know the plural rule when the catalogue's header does not state one.
    try:
        return Locale.parse(po_path.parent.parent.name)
    except (ValueError, UnknownLocaleError):
        return None


def compile_catalogue(po_path: Path) -> Path:
    """Write the .mo beside ``po_path`` and return its path.

    A translation whose placeholders differ from its source (``%(count)s`` dropped or renamed)
    would raise at render time in that language only, so it fails the build here instead.
    Fuzzy entries are left out, as ``msgfmt`` does: a guess is not a translation.
    """
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=_locale_of(po_path), abort_invalid=True)
    problems = [
        f"{po_path}:{message.lineno}: {message.id!r}: {error}"
        for message, errors in catalog.check()
        for error in errors
    ]
    if problems:
        raise CommandError("\n".join(problems))
    mo_path = po_path.with_suffix(".mo")
    # Written aside and renamed, so a server loading the catalogue never reads half a file.
    fd, tmp_name = tempfile.mkstemp(dir=po_path.parent, suffix=".mo.tmp")
    try:
        with os.fdopen(fd, "wb") as mo_file:
            write_mo(mo_file, catalog, use_fuzzy=False)
        Path(tmp_name).chmod(0o644)
        Path(tmp_name).replace(mo_path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return mo_path


def project_locale_dirs() -> list[Path]:
    """LOCALE_PATHS, then the ``locale`` directory of each of the project's own apps (an app
    may keep its catalogue beside its code, where ``makemessages`` then writes it). Django's
    and third-party apps ship their catalogues compiled."""
    package = Path(nightshift.__file__).resolve().parent
    app_dirs = [
        Path(config.path) / "locale"
        for config in apps.get_app_configs()
        if Path(config.path).resolve().is_relative_to(package)
    ]
    candidates = [Path(path) for path in settings.LOCALE_PATHS] + app_dirs
    unique = dict.fromkeys(path.resolve() for path in candidates if path.is_dir())
    return list(unique)


class Command(BaseCommand):
    help = "Compile every .po catalogue of the project (LOCALE_PATHS and its apps) to .mo."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "locale_dirs",
            nargs="*",
            type=Path,
            help="Directories to search (default: LOCALE_PATHS and the project's app locales).",
        )

    def handle(self, *args, locale_dirs: list[Path], **options) -> None:
        roots = locale_dirs or project_locale_dirs()
        po_paths = sorted(path for root in roots for path in Path(root).rglob("*.po"))
        if not po_paths:
            raise CommandError(f"no .po catalogue under {', '.join(map(str, roots))}")
        for po_path in po_paths:
            mo_path = compile_catalogue(po_path)
            if options["verbosity"] >= 1:
                self.stdout.write(f"compiled {mo_path}")
