"""The back-end processes of the alerts app: notifications (daily) and PARC agreements
(weekly). Both run on the engine like any other process; their ``default_agenda`` is their
cadence on the automatic agenda until administrators set another."""

from __future__ import annotations

import datetime
from collections import defaultdict
from functools import partial
from typing import Any, Literal

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import BaseModel, ConfigDict, Field

from nightshift.alerts.choices import FollowUpKind
from nightshift.alerts.models import ParcSummary, ParcVisit
from nightshift.alerts.rules import KEY_STRIDE, SOURCES, Built, Window, decode, source_by_index
from nightshift.crm.choices import ActionKind, NotificationKind, OpportunityStage
from nightshift.crm.models import (
    Action,
    Dispatch,
    Notification,
    Opportunity,
    ParcAgreement,
    Task,
)
from nightshift.processes.base import Outcome, Process
from nightshift.processes.registry import register

__all__ = ["NotificationsProcess", "ParcAgreementsProcess"]

ReminderSource = Literal["task", "action", "opportunity", "event", "invoice"]
REMINDER_SOURCES: list[ReminderSource] = ["task", "action", "opportunity", "event", "invoice"]


class NotificationsParameters(BaseModel):
    """What the notifications process looks for. A rule set to null (empty) is switched off."""

    model_config = ConfigDict(extra="forbid", title="Notifications")

    reminder_sources: list[ReminderSource] = Field(
        title="Reminders of",
        default_factory=lambda: list(REMINDER_SOURCES),
        description="The records whose reminders become non-blocking notifications.",
    )
    reminder_lookahead_days: int = Field(
        title="Reminders up to N days ahead",
        default=1,
        ge=0,
        le=30,
        description="Reminders set for the date of execution and up to this many days after.",
    )
    reminder_lookback_days: int = Field(
        title="Reminders up to N days back",
        default=7,
        ge=0,
        le=60,
        description="Reminders up to this many days before the date of execution, caught up "
        "when a run was missed.",
    )
    task_expiring_days: int | None = Field(
        title="Tasks about to expire: due within N days",
        default=1,
        ge=0,
        le=30,
        description="Open tasks due on the date of execution or up to this many days after "
        "(non-blocking, once per task). Empty: off.",
    )
    task_overdue_days: int | None = Field(
        title="Blocking: task overdue by N days",
        default=2,
        ge=0,
        le=365,
        description="Sales process rule: an open task more than this many days past its due "
        "date blocks its owner (once per task). Empty: off.",
    )
    opportunity_past_close_days: int | None = Field(
        title="Blocking: opportunity N days past its expected close date",
        default=0,
        ge=0,
        le=365,
        description="Sales process rule: an open opportunity more than this many days past its "
        "expected close date, and not updated recently, blocks its owner (once per "
        "opportunity). Empty: off.",
    )
    opportunity_idle_days: int = Field(
        title="…and not updated for N days",
        default=7,
        ge=0,
        le=365,
        description="The opportunity rule applies only to opportunities not updated for this "
        "many days.",
    )
    blocking_deadline_hours: int = Field(
        title="Hours to attend to a blocking notification",
        default=24,
        ge=1,
        le=720,
        description="Past this many hours after it is raised, a user who has not attended to a "
        "blocking notification is signed out.",
    )


def _source_ranges(params: dict[str, Any], after: int):
    """The enabled sources with the primary key to continue above in each."""
    for source in SOURCES:
        if not source.enabled(params):
            continue
        base = source.index * KEY_STRIDE
        if after >= base + KEY_STRIDE:
            continue
        yield source, base, max(after - base, 0)


@register
class NotificationsProcess(Process):
    """Dashboard notifications from reminders and the sales process rules.

    Non-blocking: open tasks about to expire, and the reminders set on tasks, actions not yet
    performed, open opportunities, events and posted invoices with a balance (notifying the
    contact's account manager). Blocking: open tasks overdue by N days and open opportunities
    past their expected close date without a recent update — the owner may only reach the
    notifications page until attending to them, and is signed out past their deadline.

    A record is notified once per subject: a reminder once per reminder instant (a reminder
    moved to another day notifies again), the other rules once per record and user, whatever
    the state of the earlier notification. Records nobody owns are left out.
    """

    key = "alerts.notifications"
    default_agenda = {"mode": "cron", "expression": "0 6 * * *"}  # every day at 06:00
    name = gettext_lazy("Notifications")
    description = gettext_lazy(
        "Creates dashboard notifications for tasks about to expire and the reminders of actions, "
        "opportunities, events and invoices, and blocking notifications from the sales process "
        "rules (overdue tasks, opportunities past their close date)."
    )
    Parameters = NotificationsParameters

    def candidates(self, params: dict[str, Any], *, as_of: datetime.date) -> QuerySet:
        raise NotImplementedError("records of several tables: see count and next_keys")

    def count(self, params: dict[str, Any], *, as_of: datetime.date, after: int) -> int:
        window = Window.of(params, as_of)
        return sum(
            source.candidates(params, window).filter(pk__gt=above).count()
            for source, _base, above in _source_ranges(params, after)
        )

    def next_keys(
        self, params: dict[str, Any], *, as_of: datetime.date, after: int, limit: int
    ) -> list[int]:
        window = Window.of(params, as_of)
        keys: list[int] = []
        for source, base, above in _source_ranges(params, after):
            left = limit - len(keys)
            if left <= 0:
                break
            pks = source.candidates(params, window).filter(pk__gt=above)
            keys.extend(base + pk for pk in pks.values_list("pk", flat=True)[:left])
        return keys

    def process_batch(
        self,
        params: dict[str, Any],
        ids: list[int],
        *,
        as_of: datetime.date,
        run_number: int | None,
    ) -> list[Outcome]:
        """Create the notifications of the batch's records; one outcome per key.

        1. Per source, re-select the batch's records that are still due (one query each).
        2. Read which of their subject keys their recipients already have (one query).
        3. Insert the new notifications in one statement; a conflict with a notification a
           concurrent run just created is ignored (one open notification per subject).
        """
        window = Window.of(params, as_of)
        by_source: dict[int, list[int]] = defaultdict(list)
        for key in ids:
            index, pk = decode(key)
            by_source[index].append(pk)
        built: dict[int, tuple[NotificationKind, Built]] = {}
        for index, pks in by_source.items():
            source = source_by_index(index)
            if source is None or not source.enabled(params):
                continue
            rows = source.candidates(params, window).filter(pk__in_array=pks)
            for row in rows.values(*source.fields):
                built[index * KEY_STRIDE + row["pk"]] = (
                    source.kind,
                    source.build(row, params, window),
                )
        existing = set(
            Notification.objects.filter(
                subject_key__in_array=list({b.subject_key for _kind, b in built.values()})
            ).values_list("user_id", "subject_key")
        )
        new: list[Notification] = []
        outcomes: dict[int, Outcome] = {}
        already = _("already notified")
        for key, (kind, notification) in built.items():
            if (notification.user_id, notification.subject_key) in existing:
                outcomes[key] = Outcome(key, ok=True, message=already)
                continue
            existing.add((notification.user_id, notification.subject_key))
            new.append(
                Notification(
                    user_id=notification.user_id,
                    kind=kind,
                    title=notification.title[:200],
                    message=notification.message,
                    link=notification.link,
                    subject_key=notification.subject_key[:120],
                    deadline=notification.deadline,
                )
            )
            outcomes[key] = Outcome(
                key,
                ok=True,
                message=_("%(kind)s notification for user #%(user)s: %(title)s")
                % {"kind": kind.label, "user": notification.user_id, "title": notification.title},
            )
        Notification.objects.bulk_create(new, ignore_conflicts=True)
        gone = _("no longer due (changed since it was selected, or already notified)")
        return [outcomes.get(key) or Outcome(key, ok=False, message=gone) for key in ids]


# ----------------------------------------------------------------------------- PARC


class ParcAgreementsParameters(BaseModel):
    """How the PARC agreements process plans the visits it generates."""

    model_config = ConfigDict(extra="forbid", title="PARC agreements")

    horizon_days: int = Field(
        title="Visits due within N days",
        default=6,
        ge=0,
        le=60,
        description="Agreements whose next visit is due on the date of execution or up to this "
        "many days after (a weekly run plans the coming week). Overdue visits are always "
        "included.",
    )
    visit_time: datetime.time = Field(
        title="Visit time",
        default=datetime.time(9, 0),
        description="Local time of day of the dispatch and the inspection task.",
    )
    follow_up: FollowUpKind = Field(
        title="Follow-up as",
        default=FollowUpKind.TASK,
        description="A follow-up task for the account manager, or a call action with a "
        "reminder (which the notifications process then raises).",
    )
    follow_up_days: int = Field(
        title="Follow-up N days after the visit",
        default=7,
        ge=0,
        le=90,
        description="When the account manager follows the visit up; also the opportunity's "
        "expected close date.",
    )


def _at(day: datetime.date, time: datetime.time) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, time))


def _next_visit(due: datetime.date, every: int, as_of: datetime.date) -> tuple[datetime.date, int]:
    """The visit date after ``due`` and how many periods were skipped to reach a date after
    ``as_of`` (visits missed while the process did not run are not generated late)."""
    step = datetime.timedelta(days=every)
    following = due + step
    skipped = 0
    while following <= as_of:
        following += step
        skipped += 1
    return following, skipped


@register
class ParcAgreementsProcess(Process):
    """Generate the work of the PARC agreements whose visit is due.

    For each active agreement whose next visit date falls on or before the date of execution
    plus the horizon (and within the agreement's term): an opportunity, an inspection task for
    the visiting team, a follow-up for the account manager (task or action) and a dispatch
    assigned to the visiting team; the next visit date moves on by the agreement's period.
    Visits are recorded per agreement and due date, so nothing is generated twice. Once every
    agreement is processed, each account manager gets one e-mail listing what was generated.
    """

    key = "alerts.parc_agreements"
    default_agenda = {"mode": "cron", "expression": "0 5 * * 1"}  # Mondays at 05:00
    name = gettext_lazy("PARC agreements")
    description = gettext_lazy(
        "Generates, for each PARC agreement due, the opportunity, inspection task, follow-up "
        "and dispatch to the visiting team, then mails each account manager a summary."
    )
    Parameters = ParcAgreementsParameters
    model = ParcAgreement

    def candidates(self, params: dict[str, Any], *, as_of: datetime.date) -> QuerySet:
        until = as_of + datetime.timedelta(days=params["horizon_days"])
        return (
            ParcAgreement.objects.filter(
                is_active=True,
                next_visit_date__lte=until,
                starts_on__lte=F("next_visit_date"),
            )
            .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=F("next_visit_date")))
            .order_by("pk")
        )

    def process_batch(
        self,
        params: dict[str, Any],
        ids: list[int],
        *,
        as_of: datetime.date,
        run_number: int | None,
    ) -> list[Outcome]:
        """Generate the visits of the batch's agreements; one outcome per id.

        1. Re-select the agreements still due, locked, with their contact and team.
        2. Insert the opportunities (their keys are needed by the tasks), then the tasks,
           actions, dispatches and visit records, one statement per table.
        3. Move each agreement's next visit date on (one UPDATE per distinct new date).
        """
        agreements = list(
            self.candidates(params, as_of=as_of)
            .filter(pk__in_array=ids)
            .select_related("contact", "visiting_team")
            .select_for_update(of=("self",))
        )
        done = set(
            ParcVisit.objects.filter(agreement_id__in_array=[a.pk for a in agreements]).values_list(
                "agreement_id", "due_date"
            )
        )
        fresh = [a for a in agreements if (a.pk, a.next_visit_date) not in done]
        visit_time = datetime.time.fromisoformat(str(params["visit_time"]))
        follow_up_as = params["follow_up"]
        follow_up_delay = datetime.timedelta(days=params["follow_up_days"])

        planned = {a.pk: max(a.next_visit_date, as_of) for a in fresh}
        opportunities = Opportunity.objects.bulk_create(
            [
                Opportunity(
                    code=f"PARC-{a.pk}-{a.next_visit_date:%Y%m%d}",
                    name=(
                        _("PARC visit %(code)s on %(date)s")
                        % {"code": a.code, "date": planned[a.pk].isoformat()}
                    )[:160],
                    contact_id=a.contact_id,
                    stage=OpportunityStage.PROSPECTING,
                    expected_close_date=planned[a.pk] + follow_up_delay,
                    owner_id=a.account_manager_id,
                    parc_agreement_id=a.pk,
                )
                for a in fresh
            ]
        )
        opportunity_of = {o.parc_agreement_id: o for o in opportunities}

        inspections = {
            a.pk: Task(
                subject=(_("PARC inspection %(code)s") % {"code": a.code})[:200],
                description=_("Inspection of the PARC agreement %(code)s, due %(date)s.")
                % {"code": a.code, "date": a.next_visit_date.isoformat()},
                contact_id=a.contact_id,
                owner_id=a.visiting_team.leader_id,
                manager_id=a.account_manager_id,
                team_id=a.visiting_team_id,
                due_at=_at(planned[a.pk], visit_time),
                opportunity=opportunity_of[a.pk],
                parc_agreement_id=a.pk,
            )
            for a in fresh
        }
        follow_up_tasks: dict[int, Task] = {}
        follow_up_actions: dict[int, Action] = {}
        for a in fresh:
            follow_up_at = _at(planned[a.pk] + follow_up_delay, visit_time)
            if follow_up_as == FollowUpKind.ACTION:
                follow_up_actions[a.pk] = Action(
                    kind=ActionKind.CALL,
                    contact_id=a.contact_id,
                    owner_id=a.account_manager_id,
                    description=_("Follow up the PARC visit %(code)s of %(date)s.")
                    % {"code": a.code, "date": planned[a.pk].isoformat()},
                    reminder_at=follow_up_at,
                )
            else:
                follow_up_tasks[a.pk] = Task(
                    subject=(_("Follow up PARC visit %(code)s") % {"code": a.code})[:200],
                    contact_id=a.contact_id,
                    owner_id=a.account_manager_id,
                    manager_id=a.account_manager_id,
                    due_at=follow_up_at,
                    opportunity=opportunity_of[a.pk],
                    parc_agreement_id=a.pk,
                )
        Task.objects.bulk_create([*inspections.values(), *follow_up_tasks.values()])
        Action.objects.bulk_create(list(follow_up_actions.values()))
        dispatches = {
            a.pk: Dispatch(
                code=f"PARC-{a.pk}-{a.next_visit_date:%Y%m%d}",
                subject=(_("PARC preventive visit %(code)s") % {"code": a.code})[:200],
                contact_id=a.contact_id,
                owner_id=a.visiting_team.leader_id,
                manager_id=a.account_manager_id,
                team_id=a.visiting_team_id,
                due_at=_at(planned[a.pk], visit_time),
                address=a.contact.address[:200],
                parc_agreement_id=a.pk,
            )
            for a in fresh
        }
        Dispatch.objects.bulk_create(list(dispatches.values()))
        ParcVisit.objects.bulk_create(
            [
                ParcVisit(
                    agreement_id=a.pk,
                    due_date=a.next_visit_date,
                    planned_for=planned[a.pk],
                    run_number=run_number,
                    account_manager_id=a.account_manager_id,
                    opportunity=opportunity_of[a.pk],
                    inspection_task=inspections[a.pk],
                    follow_up_task=follow_up_tasks.get(a.pk),
                    follow_up_action=follow_up_actions.get(a.pk),
                    dispatch=dispatches[a.pk],
                )
                for a in fresh
            ]
        )

        outcomes: dict[int, Outcome] = {}
        by_new_date: dict[datetime.date, list[int]] = defaultdict(list)
        for a in agreements:
            following, skipped = _next_visit(a.next_visit_date, a.visit_every_days, as_of)
            by_new_date[following].append(a.pk)
            if (a.pk, a.next_visit_date) in done:
                message = _("The visit due %(due)s was already generated; next visit %(next)s.") % {
                    "due": a.next_visit_date.isoformat(),
                    "next": following.isoformat(),
                }
            else:
                message = _(
                    "Visit due %(due)s planned for %(planned)s: opportunity %(opportunity)s, "
                    "inspection task, follow-up %(follow_up)s, dispatch %(dispatch)s to team "
                    "%(team)s; next visit %(next)s."
                ) % {
                    "due": a.next_visit_date.isoformat(),
                    "planned": planned[a.pk].isoformat(),
                    "opportunity": opportunity_of[a.pk].code,
                    "follow_up": FollowUpKind(follow_up_as).label.lower(),
                    "dispatch": dispatches[a.pk].code,
                    "team": a.visiting_team.code,
                    "next": following.isoformat(),
                }
                if skipped:
                    message += " " + _("%(count)s missed visits were skipped.") % {"count": skipped}
                if a.account_manager_id is None:
                    message += " " + _("The agreement has no account manager: no summary e-mail.")
            outcomes[a.pk] = Outcome(a.pk, ok=True, message=message)
        for following, pks in by_new_date.items():
            ParcAgreement.objects.filter(pk__in_array=pks).update(next_visit_date=following)

        gone = _(
            "The agreement is no longer due (inactive, ended, or its visit was generated since "
            "it was selected); nothing was generated."
        )
        return [outcomes.get(pk) or Outcome(pk, ok=False, message=gone) for pk in ids]

    def complete(
        self, params: dict[str, Any], *, as_of: datetime.date, run_number: int | None
    ) -> None:
        """Record one summary e-mail per account manager of the run's visits, and send the
        pending ones once this transaction commits. Called again after a crash, it records
        nothing new and sends only what is still pending: a manager is never mailed twice."""
        if run_number is None:
            return
        from nightshift.alerts.actions import send_parc_summaries

        visits = ParcVisit.objects.filter(
            run_number=run_number, summary__isnull=True, account_manager__isnull=False
        )
        managers = set(visits.values_list("account_manager_id", flat=True))
        for manager_id in sorted(managers):
            summary, _created = ParcSummary.objects.get_or_create(
                run_number=run_number, account_manager_id=manager_id
            )
            visits.filter(account_manager_id=manager_id).update(summary=summary)
        transaction.on_commit(partial(send_parc_summaries, run_number=run_number))
