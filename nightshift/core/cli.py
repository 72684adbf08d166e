"""What every ``nightshift`` command shares: acting as a user, JSON options and output, and
operator-facing errors.

Commands act as a user: ``--user USERNAME``, by default the ``NIGHTSHIFT_USER`` environment
variable (DESIGN.md §6). The actions below the commands raise Django's ``ValidationError``
(keyed by field), ``PermissionDenied`` or ``ObjectDoesNotExist``; ``operator_errors`` turns
them into a ``CommandError`` whose message names the field and the option to fix.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.management.base import CommandError, CommandParser

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.core.management.base import OutputWrapper

USER_ENV = "NIGHTSHIFT_USER"


def add_user_option(parser: CommandParser) -> None:
    """``--user USERNAME`` (default: ``$NIGHTSHIFT_USER``) on a command or sub-command."""
    parser.add_argument(
        "--user",
        default=os.environ.get(USER_ENV),
        metavar="USERNAME",
        help=f"act as this user (default: the {USER_ENV} environment variable)",
    )


def add_json_option(parser: CommandParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")


def add_password_option(parser: CommandParser) -> None:
    """``--password-stdin``: the acting user's password, asked again, read from standard
    input (for scripts); without it the command prompts when it needs the password."""
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read your password from standard input instead of prompting for it",
    )


def read_password(options: Mapping[str, Any], *, prompt: str = "Password: ") -> str:
    """The password from standard input (``--password-stdin``) or typed at a prompt."""
    import getpass
    import sys

    if options.get("password_stdin"):
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CommandError(
            "This command needs your password again: type it at the prompt (run it in a "
            "terminal) or pipe it with --password-stdin."
        )
    return getpass.getpass(prompt)


def acting_user(username: str | None) -> AbstractBaseUser:
    """The active user named ``username``; a ``CommandError`` saying how to fix it otherwise."""
    if not username:
        raise CommandError(f"Give --user USERNAME or set {USER_ENV}.")
    model = get_user_model()
    try:
        user = model._default_manager.get_by_natural_key(username)
    except model.DoesNotExist:
        raise CommandError(f"There is no user “{username}” (--user).") from None
    if not user.is_active:
        raise CommandError(f"The account “{username}” is disabled (--user).")
    return user


def json_option(value: str | None, option: str) -> Any:
    """Parse the JSON given to ``option``; ``None`` when the option was not given."""
    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{option} is not valid JSON: {exc}") from None


def describe_errors(error: ValidationError, options: Mapping[str, str] | None = None) -> str:
    """One line per field at fault: ``schedule (--schedule): every: must be positive``.

    ``options`` maps a field (or the first part of a dotted one, ``parameters.city``) to the
    command-line option that sets it, so the operator knows what to change.
    """
    options = options or {}
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    lines = []
    for field, messages in error.message_dict.items():
        option = options.get(field) or options.get(field.split(".", 1)[0])
        where = f"{field} ({option})" if option else field
        lines.append(f"{where}: {' '.join(messages)}")
    return "\n".join(lines)


@contextmanager
def operator_errors(options: Mapping[str, str] | None = None) -> Iterator[None]:
    """Turn the actions' refusals into a ``CommandError`` with the operator-facing message."""
    try:
        yield
    except ValidationError as exc:
        raise CommandError(describe_errors(exc, options)) from None
    except (PermissionDenied, ObjectDoesNotExist) as exc:
        raise CommandError(str(exc) or exc.__class__.__name__) from None


def write_json(stdout: OutputWrapper, data: Any) -> None:
    stdout.write(json.dumps(data, indent=2, default=str))


def write_table(
    stdout: OutputWrapper, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]
) -> None:
    """Rows as aligned columns under a header; ``-`` for empty values."""
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [
        max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)
    ]
    header = "  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))
    stdout.write(header.rstrip())
    for line in cells:
        stdout.write("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


def write_fields(stdout: OutputWrapper, data: Mapping[str, Any]) -> None:
    """One ``key: value`` line per field (nested values as compact JSON)."""
    width = max((len(key) for key in data), default=0)
    for key, value in data.items():
        stdout.write(f"{key.replace('_', ' ') + ':':<{width + 2}}{_cell(value)}")


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)
