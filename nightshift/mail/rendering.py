"""Filling an e-mail template's placeholders from a record.

Placeholders use Django's template language (``{{ first_name }}``, ``{% if company_name %}``,
filters such as ``{{ birth_date|date:"d/m" }}``) on a *restricted* engine:

- the context is a flat dict of plain values (strings, numbers, dates) built by the caller
  from the record — never a model instance, so a template cannot reach related objects, call
  methods that query the database or read attributes the operator was not offered;
- the only tags are the harmless ones of Django's default library (``if``, ``for``, ``with``,
  ``firstof``, ``now``, ``spaceless``, ``autoescape``, ``comment``, ``filter``, ``cycle``…):
  ``load``, ``include``, ``extends``, ``debug``, ``url`` and ``csrf_token`` do not exist here,
  so a template stored in the database can neither read files nor dump the process' state;
- an unknown placeholder renders as the empty string (as in Django), and ``placeholders()``
  lists the names a template uses so the editor can warn about the unknown ones.

The subject and the text body are rendered without HTML escaping; the HTML body escapes every
value. The subject is folded onto one line (a newline in a header would be refused by the
mailer, or worse, start a new header).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import VariableNode
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = [
    "CONTACT_PLACEHOLDERS",
    "Rendered",
    "TemplateSyntaxError",
    "compile_part",
    "contact_context",
    "placeholders",
    "render_parts",
    "sample_contact_context",
]


class _RestrictedEngine(Engine):
    # Only our library: Django's default builtins would bring {% load %}, {% include %} and
    # {% debug %} (which prints every loaded module).
    default_builtins = ["nightshift.mail.templatetags.placeholder_tags"]


ENGINE = _RestrictedEngine(
    dirs=[], app_dirs=False, libraries={}, loaders=[], autoescape=True, string_if_invalid=""
)

# The placeholders a contact offers, with what each holds (shown next to the editor).
CONTACT_PLACEHOLDERS: dict[str, Any] = {
    "code": _("the contact's code"),
    "first_name": _("first name"),
    "last_name": _("last name"),
    "full_name": _("first and last name, or the company name"),
    "company_name": _("company name"),
    "email": _("e-mail address"),
    "city": _("city"),
    "birth_date": _("birth date (a date: use the date filter)"),
    "age": _("age reached today, when the birth date is known"),
    "today": _("the date the message is sent"),
}


@dataclass(frozen=True, slots=True)
class Rendered:
    """A template filled for one record."""

    subject: str
    text: str
    html: str


def compile_part(source: str, *, html: bool = False) -> Template:
    """Compile one part of a template; ``TemplateSyntaxError`` says what is wrong."""
    template = Template(source, engine=ENGINE)
    template._nightshift_html = html
    return template


def placeholders(source: str) -> set[str]:
    """The top-level variable names ``source`` uses (``first_name`` for
    ``{{ first_name|upper }}``), to warn about names the record does not offer."""
    names: set[str] = set()
    for node in compile_part(source).nodelist.get_nodes_by_type(VariableNode):
        var = node.filter_expression.var
        lookups = getattr(var, "lookups", None)
        if lookups:
            names.add(lookups[0])
    return names


def _render(template: Template, context: dict[str, Any], *, autoescape: bool) -> str:
    # A plain str, not the SafeString Django returns: what a template produced is data to
    # whatever shows it next (the preview page escapes it like any other value).
    return "".join([template.render(Context(context, autoescape=autoescape))])


def render_parts(
    subject: Template | str,
    text: Template | str,
    html: Template | str | None,
    context: dict[str, Any],
) -> Rendered:
    """Fill compiled (or source) parts with ``context``. Compile once per batch and render per
    record: compiling is most of the cost of a small template."""
    parts = [compile_part(p) if isinstance(p, str) else p for p in (subject, text)]
    html_part = compile_part(html, html=True) if isinstance(html, str) and html else html
    rendered_subject = " ".join(_render(parts[0], context, autoescape=False).split())
    return Rendered(
        subject=rendered_subject,
        text=_render(parts[1], context, autoescape=False),
        html=_render(html_part, context, autoescape=True) if html_part else "",
    )


def _age(birth: datetime.date | None, today: datetime.date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def contact_context(row: dict[str, Any], *, today: datetime.date | None = None) -> dict[str, Any]:
    """The placeholders of one contact from a ``values()`` row holding the contact fields
    (``first_name``, ``last_name``, ``company_name``, ``email``, ``code``, ``city``,
    ``birth_date``)."""
    today = today or timezone.localdate()
    first, last = row.get("first_name") or "", row.get("last_name") or ""
    company = row.get("company_name") or ""
    birth = row.get("birth_date")
    return {
        "code": row.get("code") or "",
        "first_name": first,
        "last_name": last,
        "full_name": f"{first} {last}".strip() or company,
        "company_name": company,
        "email": row.get("email") or "",
        "city": row.get("city") or "",
        "birth_date": birth,
        "age": _age(birth, today),
        "today": today,
    }


CONTACT_FIELDS = ("code", "first_name", "last_name", "company_name", "email", "city", "birth_date")


def sample_contact_context(today: datetime.date | None = None) -> dict[str, Any]:
    """A made-up contact for previews when the database has none to show."""
    return contact_context(
        {
            "code": "CUS-0001",
            "first_name": "Joana",
            "last_name": "Gonçalves",
            "company_name": "",
            "email": "joana.goncalves@example.com",
            "city": "Recife",
            "birth_date": datetime.date(1988, 2, 29),
        },
        today=today,
    )


def money(value: Decimal | None) -> str:
    """Amounts in messages: two decimals, no exponent."""
    return "" if value is None else f"{Decimal(value):.2f}"
