"""Lead nurture (the manuals' "RPH Process - Nurture P2"): leads in the nurture state receive
the e-mails of a nurture sequence one step at a time, until they reply or the sequence ends.

The definition names the sequence (and optionally the leads' source). Each day the run takes
the leads in the nurture state that are due, and for each:

- a lead that has not joined yet (no ``nurture_started_at``) joins: started today, step 0,
  next e-mail date = today + the first step's ``delay_days`` (0: it gets the first e-mail in
  this same run);
- a lead that replied (``replied_at``, set by the inbound e-mail process) leaves the sequence:
  no more mail, state "contacted" (a salesperson takes over), no next e-mail date;
- a lead whose next e-mail date has come gets the template of its next step (placeholders
  filled from the lead) through ``send_letters``, which records the outbound message; the lead's
  ``last_email_sent_at`` is set, ``nurture_step`` (the number of steps done) grows by one and
  the next e-mail date is the next step's ``delay_days`` later — after the last step, the
  sequence's ``close_after_days`` later;
- a lead that has had every step and whose wait after the last one is over is closed for
  inactivity (state "closed due to inactivity", ``closed_at``).

A suppressed address is never mailed; the step counts as done (the skip is logged) so the lead
still reaches the end of the sequence. A letter the mail server refused, or a lead without a
usable address, stays on its step and is an error of the run, retried the next day.

Each letter carries the Message-ID ``<nurture.<start YYYYMMDD>.<lead id>.<position>@domain>``:
a re-run (or a batch rolled back after the send) never mails a step twice. Since steps after
the first wait at least a day, running again the same day sends nothing.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import BaseModel, ConfigDict, Field

from nightshift.crm.choices import LeadState
from nightshift.crm.models import Lead
from nightshift.mail.letters import CompiledTemplate
from nightshift.mail.models import NurtureSequence, NurtureStep
from nightshift.mail.rendering import contact_context
from nightshift.mail.sending import DeliveryStatus, Letter, message_id_for, send_letters
from nightshift.processes.base import Outcome, ParameterError, Process, ProcessFailed
from nightshift.processes.registry import register

__all__ = ["LeadNurture"]

LEAD_FIELDS = (
    "code",
    "first_name",
    "last_name",
    "company_name",
    "email",
    "source",
    "state",
    "nurture_step",
    "nurture_started_at",
    "next_email_date",
    "replied_at",
)
UPDATED_FIELDS = [
    "state",
    "nurture_step",
    "nurture_started_at",
    "next_email_date",
    "last_email_sent_at",
    "closed_at",
]


class LeadNurtureParameters(BaseModel):
    """Criteria and input settings of a lead nurture run definition."""

    model_config = ConfigDict(extra="forbid", title="Lead nurture")

    sequence: str = Field(
        title="Nurture sequence",
        json_schema_extra={"group": "input_settings"},
        min_length=1,
        description="Code of the nurture sequence the leads follow.",
    )
    source: str | None = Field(
        title="Lead source",
        json_schema_extra={"group": "criteria"},
        default=None,
        max_length=80,
        description="Only the leads captured from this source; empty for every lead in the "
        "nurture state.",
    )


@register
class LeadNurture(Process):
    """Send the next e-mail of a nurture sequence to the leads due, and close those the
    sequence ran out on without a reply.

    Candidates are leads in the nurture state (of the chosen source) that have not joined yet,
    have replied, or whose next e-mail date is today or earlier.
    """

    key = "sales.lead_nurture"
    name = gettext_lazy("Lead nurture")
    description = gettext_lazy(
        "Sends the leads in the nurture state the next e-mail of a sequence of templates, "
        "stops at a reply and closes for inactivity the leads the sequence ran out on."
    )
    Parameters = LeadNurtureParameters
    model = Lead
    default_agenda = {"mode": "cron", "expression": "0 9 * * *"}  # daily, 09:00 local time

    def __init__(self) -> None:
        self._steps: list[tuple[NurtureStep, CompiledTemplate]] | None = None
        self._close_after = 0

    @classmethod
    def check(cls, params: LeadNurtureParameters) -> None:
        code = {"code": params.sequence}
        sequence = NurtureSequence.objects.filter(code=params.sequence).first()
        error = None
        if sequence is None:
            error = _("There is no nurture sequence with the code “%(code)s”.") % code
        elif not sequence.active:
            error = _("The nurture sequence “%(code)s” is not active.") % code
        elif not sequence.steps.exists():
            error = _("The nurture sequence “%(code)s” has no steps.") % code
        else:
            inactive = sequence.steps.filter(template__is_active=False).order_by("position")
            for step in inactive.select_related("template")[:1]:
                error = _(
                    "Step %(position)s of the nurture sequence “%(code)s” uses the inactive "
                    "e-mail template “%(template)s”."
                ) % {**code, "position": step.position, "template": step.template.code}
        if error:
            raise ParameterError({"sequence": error})

    def candidates(self, params: dict[str, Any], *, as_of: datetime.date) -> QuerySet:
        queryset = Lead.objects.filter(state=LeadState.NURTURE).filter(
            Q(nurture_started_at__isnull=True)
            | Q(replied_at__isnull=False)
            | Q(next_email_date__lte=as_of)
        )
        if params.get("source"):
            queryset = queryset.filter(source=params["source"])
        return queryset.order_by("pk")

    def _load(self, code: str) -> list[tuple[NurtureStep, CompiledTemplate]]:
        """The sequence's steps with their templates compiled, once per run. A sequence
        deleted, deactivated or emptied since the definition was saved fails the run."""
        if self._steps is None:
            sequence = NurtureSequence.objects.filter(code=code, active=True).first()
            steps = list(sequence.steps.select_related("template")) if sequence else []
            if not steps:
                raise ProcessFailed(
                    _(
                        "The nurture sequence “%(code)s” does not exist, is not active or has "
                        "no steps."
                    )
                    % {"code": code}
                )
            self._close_after = sequence.close_after_days
            self._steps = [(step, CompiledTemplate.load(step.template.code)) for step in steps]
        return self._steps

    def _wait_after(self, done: int) -> int:
        """Days between the e-mail of step ``done`` and what comes next."""
        steps = self._steps or []
        return steps[done][0].delay_days if done < len(steps) else self._close_after

    def process_batch(
        self,
        params: dict[str, Any],
        ids: list[int],
        *,
        as_of: datetime.date,
        run_number: int | None,
    ) -> list[Outcome]:
        """Join, stop, send or close each lead still a candidate: one query to read them, one
        SMTP connection for the batch (``send_letters``), one bulk update."""
        steps = self._load(params["sequence"])
        now = timezone.now()
        leads = {
            lead.pk: lead
            # Locked: a second worker on the same leads waits, then finds them advanced (no
            # longer due) and leaves them; each step is mailed once.
            for lead in self.candidates(params, as_of=as_of)
            .filter(pk__in=ids)
            .only(*LEAD_FIELDS)
            .select_for_update(of=("self",))
        }
        messages: dict[int, list[str]] = {}
        letters: list[Letter] = []
        for lead in leads.values():
            notes = messages.setdefault(lead.pk, [])
            if lead.replied_at is not None:
                lead.state = LeadState.CONTACTED
                lead.next_email_date = None
                notes.append(
                    _("Replied on %(date)s: the sequence stops, no more e-mail.")
                    % {"date": timezone.localtime(lead.replied_at).date().isoformat()}
                )
                continue
            if lead.nurture_started_at is None:
                lead.nurture_started_at = now
                lead.nurture_step = 0
                lead.next_email_date = as_of + datetime.timedelta(days=steps[0][0].delay_days)
                notes.append(
                    _("Joined the sequence “%(code)s”; first e-mail on %(date)s.")
                    % {"code": params["sequence"], "date": lead.next_email_date.isoformat()}
                )
                if lead.next_email_date > as_of:
                    continue
            if lead.nurture_step >= len(steps):
                lead.state = LeadState.CLOSED_INACTIVE
                lead.closed_at = now
                lead.next_email_date = None
                notes.append(
                    _(
                        "No reply after the %(count)s e-mails of the sequence: closed for "
                        "inactivity."
                    )
                    % {"count": len(steps)}
                )
                continue
            step, template = steps[lead.nurture_step]
            row = {field: getattr(lead, field) for field in LEAD_FIELDS}
            context = contact_context(row, today=as_of)
            context["source"] = lead.source
            rendered = template.render(context)
            started = timezone.localtime(lead.nurture_started_at).strftime("%Y%m%d")
            letters.append(
                Letter(
                    key=lead.pk,
                    to=lead.email,
                    name=context["full_name"],
                    subject=rendered.subject,
                    text=rendered.text,
                    html=rendered.html,
                    message_id=message_id_for("nurture", started, lead.pk, step.position),
                    template_id=template.id,
                    lead_id=lead.pk,
                )
            )

        deliveries = send_letters(letters, run_number=run_number)
        failed: set[int] = set()
        for key, delivery in deliveries.items():
            lead = leads[key]
            messages[key].append(delivery.message)
            if not delivery.ok:
                failed.add(key)
                continue
            if delivery.status == DeliveryStatus.SENT:
                lead.last_email_sent_at = now
            lead.nurture_step += 1
            lead.next_email_date = as_of + datetime.timedelta(
                days=self._wait_after(lead.nurture_step)
            )
            messages[key].append(
                _("Step %(step)s of %(count)s done; next date %(date)s.")
                % {
                    "step": lead.nurture_step,
                    "count": len(steps),
                    "date": lead.next_email_date.isoformat(),
                }
            )
        Lead.objects.bulk_update(leads.values(), UPDATED_FIELDS)
        gone = _("The lead is no longer a candidate (state, dates or source changed).")
        return [
            Outcome(pk, ok=pk not in failed, message=" ".join(messages[pk]))
            if pk in leads
            else Outcome(pk, ok=False, message=gone)
            for pk in ids
        ]
