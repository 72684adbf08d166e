"""Every write of the mail app: templates, the suppression list and the nurture sequences.

Each action checks the user's permission, validates, writes in one transaction and stamps the
log information (``acting_as``). The processes add to the suppression list with
``suppress_addresses`` (set-based, no user).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from nightshift.core.audit import acting_as
from nightshift.crm.models import Contact
from nightshift.mail.models import EmailTemplate, NurtureSequence, NurtureStep, SuppressionEntry
from nightshift.mail.rendering import (
    CONTACT_FIELDS,
    CONTACT_PLACEHOLDERS,
    Rendered,
    TemplateSyntaxError,
    contact_context,
    placeholders,
    render_parts,
    sample_contact_context,
)

__all__ = [
    "add_suppression",
    "preview_template",
    "remove_suppression",
    "save_sequence",
    "save_template",
    "suppress_addresses",
]

TEMPLATE_FIELDS = ("code", "name", "language", "subject", "body_text", "body_html", "is_active")


def _require(user: AbstractUser, permission: str) -> None:
    if not user.has_perm(permission):
        raise PermissionDenied(
            _("You do not have the “%(permission)s” permission needed for this.")
            % {"permission": permission}
        )


def save_template(
    *, user: AbstractUser, template_id: int | None = None, **fields: Any
) -> EmailTemplate:
    """Create a template (``template_id`` None) or change one. Every part must compile on the
    restricted engine; a ``ValidationError`` names the part and what is wrong."""
    unknown = set(fields) - set(TEMPLATE_FIELDS)
    if unknown:
        raise ValidationError({field: _("This field cannot be set.") for field in unknown})
    _require(user, "mail.change_emailtemplate" if template_id else "mail.add_emailtemplate")
    with acting_as(user), transaction.atomic():
        if template_id is None:
            template = EmailTemplate()
        else:
            template = EmailTemplate.objects.select_for_update().filter(pk=template_id).first()
            if template is None:
                raise ObjectDoesNotExist(
                    _("There is no e-mail template #%(id)s.") % {"id": template_id}
                )
        for field, value in fields.items():
            setattr(template, field, value.strip() if isinstance(value, str) else value)
        template.full_clean()
        template.save()
    return template


def unknown_placeholders(template: EmailTemplate, offered: Iterable[str]) -> list[str]:
    """Names the template uses that the record does not offer (they render empty)."""
    used: set[str] = set()
    for source in (template.subject, template.body_text, template.body_html):
        try:
            used |= placeholders(source or "")
        except TemplateSyntaxError:
            continue
    return sorted(used - set(offered))


def preview_template(
    template: EmailTemplate, *, contact_code: str = "", today: datetime.date | None = None
) -> tuple[Rendered, dict[str, Any]]:
    """The template filled for the contact ``contact_code`` — or, without one, for the first
    contact with an e-mail address, or a made-up one on an empty database. Returns the
    rendering and the context used (shown next to it). Read-only."""
    contacts = Contact.objects.exclude(email="").order_by("pk")
    if contact_code:
        row = Contact.objects.filter(code=contact_code).values(*CONTACT_FIELDS).first()
        if row is None:
            raise ValidationError(
                {
                    "contact": _("There is no contact with the code “%(code)s”.")
                    % {"code": contact_code}
                }
            )
    else:
        row = contacts.values(*CONTACT_FIELDS).first()
    context = contact_context(row, today=today) if row else sample_contact_context(today)
    rendered = render_parts(
        template.subject, template.body_text, template.body_html or None, context
    )
    return rendered, context


def add_suppression(
    *, user: AbstractUser, email: str, reason: str = "", contact_code: str = ""
) -> SuppressionEntry:
    """Put an address on the suppression list: nothing is mailed to it any more."""
    _require(user, "mail.add_suppressionentry")
    address = (email or "").strip().lower()
    try:
        validate_email(address)
    except ValidationError:
        raise ValidationError(
            {"email": _("“%(address)s” is not a valid e-mail address.") % {"address": email}}
        ) from None
    with acting_as(user), transaction.atomic():
        contact = None
        if contact_code:
            contact = Contact.objects.filter(code=contact_code).first()
            if contact is None:
                raise ValidationError(
                    {
                        "contact": _("There is no contact with the code “%(code)s”.")
                        % {"code": contact_code}
                    }
                )
        if SuppressionEntry.objects.filter(email=address).exists():
            raise ValidationError(
                {
                    "email": _("%(address)s is already on the suppression list.")
                    % {"address": address}
                }
            )
        return SuppressionEntry.objects.create(email=address, reason=reason[:200], contact=contact)


def remove_suppression(*, user: AbstractUser, entry_id: int) -> SuppressionEntry:
    """Take an address off the suppression list: it may be mailed again."""
    _require(user, "mail.delete_suppressionentry")
    with acting_as(user), transaction.atomic():
        entry = SuppressionEntry.objects.select_for_update().filter(pk=entry_id).first()
        if entry is None:
            raise ObjectDoesNotExist(
                _("There is no suppression list entry #%(id)s.") % {"id": entry_id}
            )
        entry.delete()
    return entry


def suppress_addresses(rows: Iterable[tuple[str, int | None]], *, reason: str) -> set[str]:
    """Add ``(address, contact id)`` pairs to the suppression list in one insert, skipping
    addresses already there (their entry, reason and contact are left as they are). Returns
    the addresses added. For processes: no permission check, the run is the authority."""
    wanted: dict[str, int | None] = {}
    for raw, contact_id in rows:
        address = (raw or "").strip().lower()
        if address:
            wanted.setdefault(address, contact_id)
    if not wanted:
        return set()
    existing = set(
        SuppressionEntry.objects.filter(email__in=list(wanted)).values_list("email", flat=True)
    )
    new = {address: cid for address, cid in wanted.items() if address not in existing}
    SuppressionEntry.objects.bulk_create(
        (
            SuppressionEntry(email=address, reason=reason[:200], contact_id=cid)
            for address, cid in new.items()
        ),
        ignore_conflicts=True,  # another run adding the same address meanwhile
    )
    return set(new)


__all__ += ["CONTACT_PLACEHOLDERS", "unknown_placeholders"]


SEQUENCE_FIELDS = ("code", "name", "active", "close_after_days")


def save_sequence(
    *,
    user: AbstractUser,
    sequence_id: int | None = None,
    steps: list[tuple[int, str]],
    **fields: Any,
) -> NurtureSequence:
    """Create a nurture sequence (``sequence_id`` None) or change one, with its steps given in
    order as (days after the previous e-mail, template code); they are numbered from 1 and
    replace the sequence's former steps. A ``ValidationError`` names the field, or the step
    (``steps``) and what is wrong with it."""
    unknown = set(fields) - set(SEQUENCE_FIELDS)
    if unknown:
        raise ValidationError({field: _("This field cannot be set.") for field in unknown})
    _require(user, "mail.change_nurturesequence" if sequence_id else "mail.add_nurturesequence")
    if not steps:
        raise ValidationError({"steps": _("A sequence needs at least one step.")})
    templates = dict(
        EmailTemplate.objects.filter(code__in=[code for _days, code in steps]).values_list(
            "code", "pk"
        )
    )
    errors = []
    for position, (days, code) in enumerate(steps, start=1):
        if code not in templates:
            errors.append(
                _("Step %(position)s: there is no e-mail template with the code “%(code)s”.")
                % {"position": position, "code": code}
            )
        if position > 1 and days < 1:
            errors.append(
                _(
                    "Step %(position)s: only the first step may be sent the day the lead "
                    "joins; later steps wait at least 1 day after the previous e-mail."
                )
                % {"position": position}
            )
    if errors:
        raise ValidationError({"steps": errors})
    with acting_as(user), transaction.atomic():
        if sequence_id is None:
            sequence = NurtureSequence()
        else:
            sequence = NurtureSequence.objects.select_for_update().filter(pk=sequence_id).first()
            if sequence is None:
                raise ObjectDoesNotExist(
                    _("There is no nurture sequence #%(id)s.") % {"id": sequence_id}
                )
        for field, value in fields.items():
            setattr(sequence, field, value.strip() if isinstance(value, str) else value)
        sequence.full_clean()
        sequence.save()
        sequence.steps.all().delete()
        NurtureStep.objects.bulk_create(
            NurtureStep(
                sequence=sequence, position=position, delay_days=days, template_id=templates[code]
            )
            for position, (days, code) in enumerate(steps, start=1)
        )
    return sequence
