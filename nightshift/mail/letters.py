"""What the mailing processes share: a stored template compiled once per run, the parameter
check that names it, and the outcome of a record from its delivery."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.template import Template
from django.utils.translation import gettext as _

from nightshift.mail.models import EmailTemplate
from nightshift.mail.rendering import Rendered, TemplateSyntaxError, compile_part, render_parts
from nightshift.mail.sending import Delivery
from nightshift.processes.base import Outcome, ProcessFailed

__all__ = ["CompiledTemplate", "check_template", "outcome_of"]


@dataclass(frozen=True)
class CompiledTemplate:
    """A stored template with its parts compiled, ready to render record after record."""

    id: int | None
    code: str
    subject: Template
    text: Template
    html: Template | None

    @classmethod
    def load(cls, code: str, *, subject: str | None = None) -> CompiledTemplate:
        """The active template ``code``, its subject replaced by ``subject`` when given. A
        template deleted or deactivated since the definition was saved fails the run."""
        template = EmailTemplate.objects.filter(code=code, is_active=True).first()
        if template is None:
            raise ProcessFailed(
                _("The e-mail template “%(code)s” does not exist or is not active.")
                % {"code": code}
            )
        try:
            return cls(
                id=template.pk,
                code=template.code,
                subject=compile_part(subject or template.subject),
                text=compile_part(template.body_text),
                html=compile_part(template.body_html, html=True) if template.body_html else None,
            )
        except TemplateSyntaxError as exc:
            raise ProcessFailed(
                _("The e-mail template “%(code)s” cannot be read: %(error)s")
                % {"code": code, "error": exc}
            ) from None

    def render(self, context: dict[str, Any]) -> Rendered:
        return render_parts(self.subject, self.text, self.html, context)


def check_template(code: str | None, subject: str | None = None) -> dict[str, str]:
    """Parameter errors for a template code (and an optional subject override)."""
    errors: dict[str, str] = {}
    if code is not None and not EmailTemplate.objects.filter(code=code, is_active=True).exists():
        errors["template"] = _("There is no active e-mail template with the code “%(code)s”.") % {
            "code": code
        }
    if subject:
        try:
            compile_part(subject)
        except TemplateSyntaxError as exc:
            errors["subject"] = _("This placeholder text cannot be read: %(error)s") % {
                "error": exc
            }
    return errors


def outcome_of(delivery: Delivery) -> Outcome:
    return Outcome(delivery.key, ok=delivery.ok, message=delivery.message)
