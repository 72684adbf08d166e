"""Birthday e-mails (TOTVS "Aniversariantes"): every contact whose birthday is the date of
execution gets the template chosen in the definition, at the address on the contact.

Contacts born on 29 February are greeted on 28 February in years without one. A contact is
greeted once a day whatever the number of runs: each letter carries the Message-ID
``<birthday.YYYYMMDD.<contact id>@domain>`` and ``send_letters`` never sends one twice.
"""

from __future__ import annotations

import calendar
import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import BaseModel, ConfigDict, Field

from nightshift.crm.models import Audience, Contact
from nightshift.mail.letters import CompiledTemplate, check_template, outcome_of
from nightshift.mail.rendering import CONTACT_FIELDS, contact_context
from nightshift.mail.sending import Letter, message_id_for, send_letters
from nightshift.processes.base import Outcome, ParameterError, Process
from nightshift.processes.registry import register

__all__ = ["BirthdayEmails", "birthday_filter"]

MIN_BIRTH_YEAR = 1900  # contacts born earlier are not greeted (a birth date that old is a typo)


class BirthdayParameters(BaseModel):
    """Criteria and input settings of a birthday e-mails run definition."""

    model_config = ConfigDict(extra="forbid", title="Birthday e-mails")

    audience: str | None = Field(
        title="Audience",
        json_schema_extra={"group": "criteria"},
        default=None,
        description="Name of the audience whose contacts are greeted; empty for all contacts.",
    )
    template: str = Field(
        title="E-mail template",
        json_schema_extra={"group": "input_settings"},
        min_length=1,
        description="Code of the e-mail template sent (its placeholders are filled from the "
        "contact: first_name, full_name, age…).",
    )
    subject: str | None = Field(
        title="Subject",
        json_schema_extra={"group": "input_settings"},
        default=None,
        max_length=200,
        description="Replaces the template's subject; placeholders allowed. Empty: the "
        "template's own subject.",
    )


def birthday_filter(as_of: datetime.date) -> Q:
    """Contacts whose birthday is ``as_of``; on 28 February of a common year, those born on
    29 February too.

    An ``IN`` list of the day in every year from ``MIN_BIRTH_YEAR`` rather than "month = m and
    day = d": the list is read through the birth date index, where extracting the month and
    day scans every contact (bench/mail.py: a million contacts).

    >>> len(birthday_filter(datetime.date(2027, 2, 28)).children[0][1])  # 128 + 31 leap days
    159
    """
    dates = [
        datetime.date(year, as_of.month, as_of.day)
        for year in range(MIN_BIRTH_YEAR, as_of.year + 1)
        if (as_of.month, as_of.day) != (2, 29) or calendar.isleap(year)
    ]
    if as_of.month == 2 and as_of.day == 28 and not calendar.isleap(as_of.year):
        dates += [
            datetime.date(year, 2, 29)
            for year in range(MIN_BIRTH_YEAR, as_of.year)
            if calendar.isleap(year)
        ]
    return Q(birth_date__in=dates)


@register
class BirthdayEmails(Process):
    """E-mail the contacts whose birthday is the date of execution.

    Candidates are contacts with an e-mail address and a birth date whose day and month are
    the date of execution (29 February birthdays on 28 February in common years), in the
    chosen audience. Each gets the chosen template; a suppressed address is skipped (and the
    skip logged), an address already greeted that day is not greeted again.
    """

    key = "mail.birthdays"
    name = gettext_lazy("Birthday e-mails")
    description = gettext_lazy(
        "E-mails the contacts whose birthday is today with the template chosen in the "
        "definition (29 February birthdays on 28 February in common years)."
    )
    Parameters = BirthdayParameters
    model = Contact
    default_agenda = {"mode": "cron", "expression": "0 8 * * *"}  # daily, 08:00 local time

    def __init__(self) -> None:
        self._template: CompiledTemplate | None = None

    @classmethod
    def check(cls, params: BirthdayParameters) -> None:
        errors = check_template(params.template, params.subject)
        if params.audience and not Audience.objects.filter(name=params.audience).exists():
            errors["audience"] = _("There is no audience named “%(name)s”.") % {
                "name": params.audience
            }
        if errors:
            raise ParameterError(errors)

    def candidates(self, params: dict[str, Any], *, as_of: datetime.date) -> QuerySet:
        queryset = Contact.objects.exclude(email="").filter(birthday_filter(as_of))
        if params.get("audience"):
            audience = Audience.objects.filter(name=params["audience"]).first()
            if audience is None:
                # Deleted since the definition was saved: no contact matches rather than all.
                return Contact.objects.none()
            audience.clean()
            queryset = queryset.filter(**audience.criteria)
        return queryset.order_by("pk")

    def process_batch(
        self,
        params: dict[str, Any],
        ids: list[int],
        *,
        as_of: datetime.date,
        run_number: int | None,
    ) -> list[Outcome]:
        """Render the template for each contact still a candidate and send the batch over one
        connection (``send_letters``: suppression, idempotence, recording)."""
        if self._template is None:
            self._template = CompiledTemplate.load(
                params["template"], subject=params.get("subject")
            )
        template = self._template
        rows = self.candidates(params, as_of=as_of).filter(pk__in=ids).values("pk", *CONTACT_FIELDS)
        day = as_of.strftime("%Y%m%d")
        letters = []
        for row in rows:
            context = contact_context(row, today=as_of)
            rendered = template.render(context)
            letters.append(
                Letter(
                    key=row["pk"],
                    to=row["email"],
                    name=context["full_name"],
                    subject=rendered.subject,
                    text=rendered.text,
                    html=rendered.html,
                    message_id=message_id_for("birthday", day, row["pk"]),
                    template_id=template.id,
                    contact_id=row["pk"],
                )
            )
        deliveries = send_letters(letters, run_number=run_number)
        gone = _("The contact is no longer a candidate (birth date, e-mail or audience changed).")
        return [
            outcome_of(deliveries[pk]) if pk in deliveries else Outcome(pk, ok=False, message=gone)
            for pk in ids
        ]
