"""Account movement monitoring (TOTVS "Monitorar Movimentações das Contas", program crm00356).

Finds the accounts with no movement in the CRM's main processes during a period, reports them,
optionally transfers them to another account manager, and notifies chosen users with the list.
The run definition's parameters are the manual's "parâmetro": the period, the movements that
count, whether to transfer and to whom, who is notified, and the e-mail's subject and layout.
"""

from __future__ import annotations

import datetime
import logging
import re
from typing import Any, Literal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import ConfigDict, Field

from nightshift.crm.choices import ContactStatus, CustomerEventKind, NotificationKind
from nightshift.crm.models import (
    Action,
    Contact,
    CustomerEvent,
    Event,
    Notification,
    Opportunity,
    Task,
)
from nightshift.erp.models import UnmovedAccount
from nightshift.erp.routines import AccountRoutine, AudienceParameters
from nightshift.mail.models import EmailMessage
from nightshift.mail.sending import Letter, send_letters
from nightshift.processes.base import Outcome, ParameterError
from nightshift.processes.registry import register

__all__ = ["AccountMovementMonitoring", "render"]

logger = logging.getLogger(__name__)

Movement = Literal["opportunities", "tasks", "events", "actions", "emails", "purchases"]
MOVEMENTS: tuple[str, ...] = Movement.__args__
# The notification and e-mail list this many accounts; the run's page has them all.
LIST_LIMIT = 200
PLACEHOLDER = re.compile(r"{{\s*(\w+)\s*}}")
PLACEHOLDERS = ("count", "days", "period_start", "period_end", "accounts", "transfer_to", "link")


def render(text: str, values: dict[str, Any]) -> str:
    """Fill ``{{ name }}`` placeholders (the names of ``PLACEHOLDERS``).

    >>> render("{{ count }} accounts since {{period_start}}", {"count": 3, "period_start": "x"})
    '3 accounts since x'
    """
    return PLACEHOLDER.sub(lambda match: str(values.get(match.group(1), match.group(0))), text)


class AccountMovementParameters(AudienceParameters):
    """The movement monitoring parameter set."""

    model_config = ConfigDict(extra="forbid", title="Account movement monitoring")

    period_days: int = Field(
        title="Period (days)",
        json_schema_extra={"group": "criteria"},
        default=90,
        ge=1,
        le=3650,
        description="An account is without movement when none of the movements below happened "
        "in this many days up to the date of execution.",
    )
    movements: list[Movement] = Field(
        title="Movements that count",
        json_schema_extra={"group": "criteria"},
        default_factory=lambda: list(MOVEMENTS),
        min_length=1,
        description="Opportunities, tasks, events and actions created or changed, e-mails sent "
        "or received, purchases made in the period.",
    )
    transfer: bool = Field(
        title="Transfer accounts without movement",
        json_schema_extra={"group": "input_settings"},
        default=False,
    )
    transfer_to: str | None = Field(
        title="Transfer to",
        json_schema_extra={"group": "input_settings"},
        default=None,
        description="Username of the account manager who receives them; required to transfer.",
    )
    notify_users: list[str] = Field(
        title="Users to notify",
        json_schema_extra={"group": "input_settings"},
        default_factory=list,
        description="Usernames; each gets a notification and an e-mail with the list.",
    )
    email_subject: str = Field(
        title="E-mail subject",
        json_schema_extra={"group": "input_settings"},
        default="",
        max_length=200,
        description="Empty for the default; placeholders {{ count }}, {{ days }}, "
        "{{ period_start }}, {{ period_end }}, {{ transfer_to }}.",
    )
    email_layout: str = Field(
        title="E-mail layout",
        json_schema_extra={"group": "input_settings"},
        default="",
        max_length=10_000,
        description="The e-mail's text, empty for the default; placeholders as for the subject "
        "plus {{ accounts }} (the list) and {{ link }} (the run's page).",
    )


def _default_subject() -> str:
    return _("{{ count }} accounts without movement since {{ period_start }}")


def _default_layout() -> str:
    return _(
        "These {{ count }} accounts had no movement from {{ period_start }} to "
        "{{ period_end }} ({{ days }} days):\n\n{{ accounts }}\n\nThe run: {{ link }}\n"
    )


@register
class AccountMovementMonitoring(AccountRoutine):
    """Report (and optionally transfer) the accounts without movement in the period.

    Candidates: contacts (all, or the audience's), not rejected, created before the period,
    with none of the chosen movements in it: an opportunity, task, event or action created or
    changed, an e-mail sent or received, a purchase. Each is reported as a successful record
    ("no movement since …") and kept in the run's list; with "transfer", those not already
    managed by the chosen user are given to that user. When the run completes, each user to
    notify gets one dashboard notification and one e-mail with the list (nothing to report,
    nothing sent).
    """

    key = "accounts.movement_monitoring"
    name = gettext_lazy("Account movement monitoring")
    description = gettext_lazy(
        "Reports the accounts without movement in a period, optionally transfers them to "
        "another account manager, and notifies the chosen users with the list."
    )
    Parameters = AccountMovementParameters
    # Mondays at 06:00: the report lands at the start of the week.
    default_agenda = {
        "mode": "advanced",
        "start": "2026-01-05T06:00",
        "repeat": {"weekly": {"every": 1, "weekdays": ["MO"]}},
    }
    excluded = {"status": ContactStatus.REJECTED}

    @classmethod
    def check(cls, params: AccountMovementParameters) -> None:
        errors: dict[str, str] = {}
        try:
            super().check(params)
        except ParameterError as exc:
            errors.update(exc.errors)
        users = get_user_model().objects
        if params.transfer and not params.transfer_to:
            errors["transfer_to"] = _("Choose the account manager who receives the accounts.")
        if params.transfer_to:
            if not params.transfer:
                errors["transfer_to"] = _("Set “transfer” too, or leave this empty.")
            elif not users.filter(username=params.transfer_to, is_active=True).exists():
                errors["transfer_to"] = _("Unknown or inactive user: %(user)s.") % {
                    "user": params.transfer_to
                }
        params.notify_users = list(dict.fromkeys(params.notify_users))
        known = set(
            users.filter(username__in=params.notify_users, is_active=True).values_list(
                "username", flat=True
            )
        )
        unknown = [name for name in params.notify_users if name not in known]
        if unknown:
            errors["notify_users"] = _("Unknown or inactive users: %(users)s.") % {
                "users": ", ".join(unknown)
            }
        for field, allowed in (
            ("email_subject", set(PLACEHOLDERS) - {"accounts", "link"}),
            ("email_layout", set(PLACEHOLDERS)),
        ):
            names = set(PLACEHOLDER.findall(getattr(params, field))) - allowed
            if names:
                errors[field] = _("Unknown placeholders: %(names)s. Available: %(allowed)s.") % {
                    "names": ", ".join(sorted(names)),
                    "allowed": ", ".join(f"{{{{ {name} }}}}" for name in sorted(allowed)),
                }
        if errors:
            raise ParameterError(errors)

    # -- selection --------------------------------------------------------------------------

    @staticmethod
    def period(
        params: dict[str, Any], as_of: datetime.date
    ) -> tuple[datetime.date, datetime.datetime, datetime.datetime]:
        """The period's first day, and its bounds as aware instants [start, end)."""
        first_day = as_of - datetime.timedelta(days=params.get("period_days", 90) - 1)
        start = timezone.make_aware(datetime.datetime.combine(first_day, datetime.time.min))
        end = timezone.make_aware(
            datetime.datetime.combine(as_of + datetime.timedelta(days=1), datetime.time.min)
        )
        return first_day, start, end

    def candidates(self, params: dict[str, Any], *, as_of: datetime.date) -> QuerySet:
        _first, start, end = self.period(params, as_of)
        contact = OuterRef("pk")
        changed = Q(updated_at__gte=start, updated_at__lt=end)
        movements = {
            "opportunities": Opportunity.objects.filter(changed, contact=contact),
            "tasks": Task.objects.filter(changed, contact=contact),
            "events": Event.objects.filter(
                changed | Q(starts_at__gte=start, starts_at__lt=end), contact=contact
            ),
            "actions": Action.objects.filter(
                changed | Q(performed_at__gte=start, performed_at__lt=end), contact=contact
            ),
            "emails": EmailMessage.objects.filter(
                contact=contact, sent_at__gte=start, sent_at__lt=end
            ),
            "purchases": CustomerEvent.objects.filter(
                contact=contact,
                kind=CustomerEventKind.PURCHASE,
                occurred_at__gte=start,
                occurred_at__lt=end,
            ),
        }
        queryset = super().candidates(params, as_of=as_of).filter(created_at__lt=start)
        for movement in params.get("movements") or MOVEMENTS:
            queryset = queryset.filter(~Exists(movements[movement]))
        return queryset

    def count(self, params: dict[str, Any], *, as_of: datetime.date, after: int) -> int:
        # CRM movements only: the ERP is not asked, so no ERP integration is needed.
        return self.candidates(params, as_of=as_of).filter(pk__gt=after).count()

    # -- processing -------------------------------------------------------------------------

    def _transfer_target(self, params: dict[str, Any]) -> int | None:
        if not params.get("transfer"):
            return None
        if not hasattr(self, "_target"):
            self._target = (
                get_user_model()
                .objects.filter(username=params["transfer_to"], is_active=True)
                .values_list("pk", flat=True)
                .first()
            )
        return self._target

    def process_batch(
        self,
        params: dict[str, Any],
        ids: list[int],
        *,
        as_of: datetime.date,
        run_number: int | None,
    ) -> list[Outcome]:
        """Re-select the batch (locked; a contact that moved meanwhile is no longer one), keep
        it in the run's list with one INSERT, transfer with one UPDATE; one outcome per id."""
        first_day, _start, _end = self.period(params, as_of)
        rows = dict(
            self.candidates(params, as_of=as_of)
            .filter(pk__in=ids)
            .select_for_update(of=("self",))
            .values_list("pk", "account_manager_id")
        )
        outcomes = self._gone(ids, rows)
        target = self._transfer_target(params)
        if params.get("transfer") and target is None:
            message = _("Not transferred: the user %(user)s no longer exists or is inactive.")
            for pk in rows:
                outcomes[pk] = Outcome(
                    pk, ok=False, message=message % {"user": params["transfer_to"]}
                )
            return [outcomes[pk] for pk in ids]
        moving = [pk for pk, manager in rows.items() if target and manager != target]
        moved = set(moving)
        if moving:
            Contact.objects.filter(pk__in=moving).update(account_manager_id=target)
        if run_number is not None:
            UnmovedAccount.objects.bulk_create(
                (
                    UnmovedAccount(
                        run_number=run_number,
                        contact_id=pk,
                        previous_manager_id=manager,
                        transferred_to_id=target if pk in moved else None,
                    )
                    for pk, manager in rows.items()
                ),
                ignore_conflicts=True,
            )
        reported = _("no movement since %(date)s") % {"date": first_day.isoformat()}
        transferred = _("no movement since %(date)s; transferred to %(user)s") % {
            "date": first_day.isoformat(),
            "user": params.get("transfer_to"),
        }
        for pk in rows:
            outcomes[pk] = Outcome(pk, ok=True, message=transferred if pk in moved else reported)
        return [outcomes[pk] for pk in ids]

    # -- notification -----------------------------------------------------------------------

    def complete(
        self, params: dict[str, Any], *, as_of: datetime.date, run_number: int | None
    ) -> None:
        """Notify each user to notify, once per run (a run completed again after a crash
        finds the notification made and sends nothing twice)."""
        if run_number is None or not params.get("notify_users"):
            return
        entries = UnmovedAccount.objects.filter(run_number=run_number)
        count = entries.count()
        if not count:
            return
        subject_key = f"erp.movement:run:{run_number}"
        users = list(
            get_user_model()
            .objects.filter(username__in=params["notify_users"], is_active=True)
            .exclude(notifications__subject_key=subject_key)
            .order_by("username")
        )
        if not users:
            return
        values = self._values(params, as_of, run_number, count, entries)
        subject = render(params.get("email_subject") or _default_subject(), values)
        subject = " ".join(subject.split())[:200]
        body = render(params.get("email_layout") or _default_layout(), values)
        Notification.objects.bulk_create(
            Notification(
                user=user,
                kind=NotificationKind.NON_BLOCKING,
                title=subject,
                message=body,
                link=values["path"],
                subject_key=subject_key,
            )
            for user in users
        )
        letters = [
            Letter(key=user.pk, to=user.email, subject=subject, text=body)
            for user in users
            if user.email
        ]
        if letters:
            transaction.on_commit(lambda: _send(letters, run_number))

    def _values(
        self, params: dict[str, Any], as_of: datetime.date, run_number: int, count: int, entries
    ) -> dict[str, Any]:
        first_day, _start, _end = self.period(params, as_of)
        lines = []
        for entry in entries.select_related("contact", "previous_manager", "transferred_to")[
            :LIST_LIMIT
        ]:
            contact = entry.contact
            manager = entry.previous_manager.username if entry.previous_manager else "-"
            line = f"- {contact.code} · {contact.display_name} ({manager})"
            if entry.transferred_to:
                line += " → " + entry.transferred_to.username
            lines.append(line)
        if count > LIST_LIMIT:
            lines.append(_("… and %(more)s more (see the run).") % {"more": count - LIST_LIMIT})
        path = reverse("runs:run", args=[run_number])
        return {
            "count": count,
            "days": params.get("period_days", 90),
            "period_start": first_day.isoformat(),
            "period_end": as_of.isoformat(),
            "accounts": "\n".join(lines),
            "transfer_to": params.get("transfer_to") or "-",
            "link": settings.NIGHTSHIFT_BASE_URL.rstrip("/") + path,
            "path": path,
        }


def _send(letters: list[Letter], run_number: int) -> None:
    """Through the one sending path (suppression list, recording); refusals are logged."""
    for delivery in send_letters(letters, run_number=run_number).values():
        if not delivery.ok:
            logger.warning(
                "Movement report of run %s to %s: %s",
                run_number,
                delivery.address,
                delivery.message,
            )
