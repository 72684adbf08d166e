"""Pydantic's validation errors told to the operator in their language.

Pydantic words its messages in English ("Input should be greater than 0"); the settings the
operator fills in (schedules, throttling, a process's parameters) are validated by pydantic
models, so each error is reworded here from its type and context, translated. A type not
listed keeps pydantic's message.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic_core import ErrorDetails

__all__ = ["describe_error"]

# error type -> message, for errors whose wording needs nothing from their context
_PLAIN: dict[str, Any] = {
    "missing": gettext_lazy("required"),
    "extra_forbidden": gettext_lazy("not a known setting"),
    "string_type": gettext_lazy("must be text"),
    "bool_type": gettext_lazy("must be true or false"),
    "bool_parsing": gettext_lazy("must be true or false"),
    "list_type": gettext_lazy("must be a list"),
    "date_type": gettext_lazy("must be a date, such as 2026-12-01"),
    "date_parsing": gettext_lazy("must be a date, such as 2026-12-01"),
}
_PLAIN.update(
    dict.fromkeys(
        ("int_type", "int_parsing", "int_from_float", "float_type", "float_parsing"),
        gettext_lazy("must be a whole number"),
    )
)
_PLAIN.update(
    dict.fromkeys(
        ("dict_type", "model_type", "model_attributes_type"),
        gettext_lazy("must be an object with its own settings"),
    )
)
_PLAIN.update(
    dict.fromkeys(
        ("datetime_type", "datetime_parsing", "datetime_from_date_parsing"),
        gettext_lazy("must be a date and time, such as 2026-12-01T03:00"),
    )
)
# error type -> (message, the context key its %(limit)s comes from)
_BOUNDS: dict[str, tuple[Any, str]] = {
    "greater_than": (gettext_lazy("must be greater than %(limit)s"), "gt"),
    "greater_than_equal": (gettext_lazy("must be greater than or equal to %(limit)s"), "ge"),
    "less_than": (gettext_lazy("must be less than %(limit)s"), "lt"),
    "less_than_equal": (gettext_lazy("must be less than or equal to %(limit)s"), "le"),
    "too_short": (gettext_lazy("choose at least %(limit)s"), "min_length"),
}
# error type -> the context key listing the values allowed
_CHOICES = {"literal_error": "expected", "enum": "expected", "union_tag_invalid": "expected_tags"}


def _choices(values: Any) -> str:
    # Pydantic lists the choices as "'a', 'b' or 'c'"; quote them as the UI does.
    if isinstance(values, str):
        values = [part.strip(" '") for part in values.replace(" or ", ", ").split(",")]
    return ", ".join(f"“{value}”" for value in values)


def _either(keys: list[str]) -> str:
    quoted = [f"“{key}”" for key in keys]
    return _("give %(choices)s or %(last)s") % {
        "choices": ", ".join(quoted[:-1]),
        "last": quoted[-1],
    }


def describe_error(error: ErrorDetails) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) as an operator-facing,
    translated message, without its location: the caller names the field."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in _PLAIN:
        return str(_PLAIN[kind])
    if kind in _BOUNDS:
        message, key = _BOUNDS[kind]
        return str(message) % {"limit": ctx[key]}
    if kind in _CHOICES:
        return _("must be one of: %(allowed)s") % {"allowed": _choices(ctx[_CHOICES[kind]])}
    return _contextual(kind, ctx) or error["msg"]


def _contextual(kind: str, ctx: dict[str, Any]) -> str | None:
    if kind == "value_error":  # a validator's own message, translated where it was raised
        return str(ctx["error"])
    if kind == "union_tag_not_found":
        return _("give the “%(field)s”") % {"field": str(ctx["discriminator"]).strip("'")}
    if kind == "missing_choice" and len(ctx.get("keys", ())) > 1:
        return _either(list(ctx["keys"]))
    return None
