"""Every write of the alerts app: attending to and releasing notifications, and sending the
PARC summary e-mails."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from nightshift.alerts.choices import SummaryState
from nightshift.alerts.models import ParcSummary, ParcVisit
from nightshift.core.audit import acting_as
from nightshift.crm.choices import NotificationKind, NotificationState
from nightshift.crm.models import Notification
from nightshift.mail.sending import Letter, send_letters

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser

logger = logging.getLogger(__name__)

__all__ = ["RELEASE", "attend_notification", "release_notifications", "send_parc_summaries"]

RELEASE = "alerts.release_notifications"


def can_release(user: AbstractUser) -> bool:
    return user.is_active and user.has_perm(RELEASE)


def attend_notification(*, user: AbstractUser, notification_id: int) -> Notification:
    """Mark one of the user's own open notifications attended. Another user's notification is
    "not found" (its existence is not the caller's business); one already attended or released
    is returned as it is."""
    with acting_as(user), transaction.atomic():
        notification = (
            Notification.objects.select_for_update().filter(pk=notification_id, user=user).first()
        )
        if notification is None:
            raise ObjectDoesNotExist(
                _("You have no notification #%(id)s.") % {"id": notification_id}
            )
        if notification.state == NotificationState.OPEN:
            notification.state = NotificationState.ATTENDED
            notification.attended_at = timezone.now()
            notification.save(update_fields=["state", "attended_at"])
    return notification


def release_notifications(
    *, user: AbstractUser, notification_ids: list[int] | None = None, user_id: int | None = None
) -> int:
    """An administrator lifts open blocking notifications: those listed, or all of one user's.
    Returns how many were released; needs the "release notifications" permission."""
    if not can_release(user):
        raise PermissionDenied(_("Only an administrator can release blocking notifications."))
    if notification_ids is None and user_id is None:
        raise ValueError("name the notifications or the user")
    now = timezone.now()
    with acting_as(user), transaction.atomic():
        open_blocking = Notification.objects.filter(
            kind=NotificationKind.BLOCKING, state=NotificationState.OPEN
        )
        if notification_ids is not None:
            open_blocking = open_blocking.filter(pk__in=notification_ids)
        if user_id is not None:
            open_blocking = open_blocking.filter(user_id=user_id)
        released = open_blocking.update(
            state=NotificationState.RELEASED, released_by=user, released_at=now
        )
    logger.info("%s released %d blocking notifications", user, released)
    return released


def _summary_body(summary: ParcSummary) -> tuple[str, str]:
    visits = list(
        ParcVisit.objects.filter(summary=summary)
        .select_related(
            "agreement__contact",
            "agreement__visiting_team",
            "opportunity",
            "inspection_task",
            "follow_up_task",
            "follow_up_action",
            "dispatch",
        )
        .order_by("planned_for", "agreement__code")
    )
    subject = ngettext(
        "PARC agreements: %(count)s visit generated (run #%(run)s)",
        "PARC agreements: %(count)s visits generated (run #%(run)s)",
        len(visits),
    ) % {"count": len(visits), "run": summary.run_number}
    manager = summary.account_manager
    lines = [
        _("Hello %(name)s,") % {"name": manager.get_full_name() or manager.get_username()},
        "",
        _("The PARC agreements process generated this work for your accounts:"),
        "",
    ]
    for visit in visits:
        agreement = visit.agreement
        follow_up = (
            _("follow-up task due %(when)s")
            % {"when": timezone.localtime(visit.follow_up_task.due_at).strftime("%Y-%m-%d %H:%M")}
            if visit.follow_up_task
            else _("follow-up call reminded %(when)s")
            % {
                "when": timezone.localtime(visit.follow_up_action.reminder_at).strftime(
                    "%Y-%m-%d %H:%M"
                )
            }
            if visit.follow_up_action
            else _("no follow-up")
        )
        lines += [
            _("- %(code)s · %(contact)s — visit %(date)s by %(team)s")
            % {
                "code": agreement.code,
                "contact": agreement.contact,
                "date": visit.planned_for.isoformat(),
                "team": agreement.visiting_team,
            },
            "  "
            + _(
                "opportunity %(opportunity)s; inspection task; %(follow_up)s; dispatch %(dispatch)s"
            )
            % {
                "opportunity": visit.opportunity.code if visit.opportunity else "-",
                "follow_up": follow_up,
                "dispatch": visit.dispatch.code if visit.dispatch else "-",
            },
        ]
    lines += ["", settings.NIGHTSHIFT_BASE_URL.rstrip("/") + f"/runs/{summary.run_number}/", ""]
    return subject, "\n".join(lines)


def send_parc_summaries(*, run_number: int) -> dict[str, int]:
    """Send the pending PARC summary e-mails of run ``run_number``; returns counts by state.

    1. Claim a summary (pending → sending) with a conditional UPDATE committed on its own:
       whoever claims it is the only sender, even if ``complete`` ran twice.
    2. Hand the message to the mail server.
    3. Record the outcome (sent, or failed with the reason). A crash between 1 and 3 leaves the
       summary "sending": it is never sent again automatically, and an operator sees it.
    """
    from nightshift.runs.models import LogEntry, ProcessRun

    # The run's log gets a line per summary (a run removed meanwhile gets none).
    logged = ProcessRun.objects.filter(pk=run_number).exists()
    counts = {SummaryState.SENT: 0, SummaryState.FAILED: 0}
    pending = ParcSummary.objects.filter(run_number=run_number, state=SummaryState.PENDING)
    for summary in pending.select_related("account_manager").order_by("pk"):
        if not ParcSummary.objects.filter(pk=summary.pk, state=SummaryState.PENDING).update(
            state=SummaryState.SENDING
        ):
            continue  # another sender claimed it
        address = summary.account_manager.email
        state, error = SummaryState.SENT, ""
        if not address:
            state = SummaryState.FAILED
            error = _("%(user)s has no e-mail address.") % {"user": summary.account_manager}
        else:
            subject, body = _summary_body(summary)
            # The one sending path: suppression list, recording; a refusal comes back.
            letter = Letter(key=summary.pk, to=address, subject=subject, text=body)
            delivery = send_letters([letter])[summary.pk]
            if not delivery.ok:
                logger.warning("PARC summary %s to %s: %s", summary.pk, address, delivery.message)
                state, error = SummaryState.FAILED, delivery.message
        ParcSummary.objects.filter(pk=summary.pk).update(
            state=state,
            email=address,
            error=error,
            sent_at=timezone.now() if state == SummaryState.SENT else None,
        )
        counts[state] += 1
        if not logged:
            continue
        LogEntry.objects.create(
            run_id=run_number,
            source=LogEntry.Source.RUN,
            level=LogEntry.Level.INFO if state == SummaryState.SENT else LogEntry.Level.WARNING,
            message=(
                _("PARC summary e-mailed to %(user)s <%(email)s>.")
                if state == SummaryState.SENT
                else _("PARC summary to %(user)s not sent: %(error)s")
            )
            % {"user": summary.account_manager, "email": address, "error": error},
        )
    return {str(state): count for state, count in counts.items()}
