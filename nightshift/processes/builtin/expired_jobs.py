"""Expired jobs (TOTVS "Jobs expirados"): open tasks and dispatches more than N hours past
their due date alert their owner, their manager and a designated list of users — a dashboard
notification and an e-mail each — once per job and lateness level, not at every run.

Levels: the first is "late after" hours (3 by default); "escalate after" adds further ones
(e.g. 24 and 72 hours). A job is alerted when it reaches a level it was not alerted for; a job
that jumped several levels between two runs is alerted once, for the highest (the lower ones
are recorded as passed). ``JobAlert`` keeps what was sent, one row per job and level.

The records of a run are jobs of two tables, so the run's keys encode them: ``2 * id`` for a
task, ``2 * id + 1`` for a dispatch (``job_key``/``job_of``), ascending as the engine needs.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal
from typing import Any, Literal

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import BaseModel, ConfigDict, Field, model_validator

from nightshift.crm.choices import JOB_OPEN_STATES, NotificationKind
from nightshift.crm.models import Dispatch, Notification, Task
from nightshift.mail.letters import CompiledTemplate, check_template
from nightshift.mail.models import JobAlert, JobKind
from nightshift.mail.sending import Letter, message_id_for, send_letters
from nightshift.processes.base import Outcome, ParameterError, Process
from nightshift.processes.registry import register

__all__ = ["ExpiredJobs", "job_key", "job_of"]

MODELS = {JobKind.TASK: Task, JobKind.DISPATCH: Dispatch}
_TAG = {JobKind.TASK: 0, JobKind.DISPATCH: 1}


def job_key(kind: str, pk: int) -> int:
    """The run key of a job: ``job_key("task", 21) == 42``, ``job_key("dispatch", 21) == 43``."""
    return 2 * pk + _TAG[JobKind(kind)]


def job_of(key: int) -> tuple[JobKind, int]:
    """The job a run key names: ``job_of(43) == (JobKind.DISPATCH, 21)``."""
    return (JobKind.DISPATCH if key % 2 else JobKind.TASK), key // 2


class ExpiredJobsParameters(BaseModel):
    """Lateness levels, job kinds and whom to alert."""

    model_config = ConfigDict(extra="forbid", title="Expired jobs")

    job_kinds: list[Literal["task", "dispatch"]] = Field(
        title="Job kinds",
        json_schema_extra={"group": "criteria"},
        default_factory=lambda: ["task", "dispatch"],
        min_length=1,
        description="Which jobs are watched: tasks, dispatches or both.",
    )
    late_after_hours: Decimal = Field(
        title="Late after (hours)",
        json_schema_extra={"group": "criteria"},
        default=Decimal(3),
        gt=0,
        le=24 * 365,
        decimal_places=2,
        description="An open job this many hours past its due date is alerted (level 1).",
    )
    escalate_after_hours: list[Decimal] = Field(
        title="Escalate after (hours)",
        json_schema_extra={"group": "criteria"},
        default_factory=list,
        max_length=10,
        description="Further lateness levels, each alerted once more (e.g. 24, 72).",
    )
    alert_owner: bool = Field(
        title="Alert the owner",
        json_schema_extra={"group": "input_settings"},
        default=True,
    )
    alert_manager: bool = Field(
        title="Alert the manager",
        json_schema_extra={"group": "input_settings"},
        default=True,
    )
    notify_users: list[str] = Field(
        title="Users to alert",
        json_schema_extra={"group": "input_settings"},
        default_factory=list,
        description="Usernames alerted about every late job, besides owners and managers.",
    )
    template: str | None = Field(
        title="E-mail template",
        json_schema_extra={"group": "input_settings"},
        default=None,
        description="Code of the e-mail template (placeholders: kind, subject, due_at, "
        "hours_late, level, recipient, link); empty for the built-in message.",
    )

    @model_validator(mode="after")
    def _levels_increase(self) -> ExpiredJobsParameters:
        if any(hours <= self.late_after_hours for hours in self.escalate_after_hours):
            raise ValueError("escalation levels must be later than “late after”")
        return self

    def levels(self) -> list[Decimal]:
        return sorted({self.late_after_hours, *self.escalate_after_hours})


def _levels(params: dict[str, Any]) -> list[Decimal]:
    return ExpiredJobsParameters.model_validate(params).levels()


@register
class ExpiredJobs(Process):
    """Alert owners, managers and designated users about late jobs (module docstring)."""

    key = "sales.expired_jobs"
    name = gettext_lazy("Expired jobs")
    description = gettext_lazy(
        "Alerts the owners, managers and chosen users of tasks and dispatches that are hours "
        "late (a notification and an e-mail), once per job and lateness level."
    )
    Parameters = ExpiredJobsParameters
    model = None  # two tables; see job_key
    default_agenda = {"mode": "cron", "expression": "*/30 * * * *"}  # every 30 minutes

    def __init__(self) -> None:
        # One instant per run: every batch measures lateness against the same clock.
        self.now = timezone.now()
        self._template: CompiledTemplate | None = None
        self._designated: list[int] | None = None

    @classmethod
    def check(cls, params: ExpiredJobsParameters) -> None:
        errors = check_template(params.template)
        if params.notify_users:
            users = get_user_model().objects.filter(
                username__in=params.notify_users, is_active=True
            )
            unknown = set(params.notify_users) - set(users.values_list("username", flat=True))
            if unknown:
                errors["notify_users"] = _("Unknown or inactive users: %(names)s.") % {
                    "names": ", ".join(sorted(unknown))
                }
        if errors:
            raise ParameterError(errors)

    # -- selection: two tables, one key space ----------------------------------------------

    def _late(self, kind: JobKind, params: dict[str, Any]) -> QuerySet:
        """Open jobs of ``kind`` past a level they were not alerted for."""
        condition = Q()
        for number, hours in enumerate(_levels(params), start=1):
            alerted = JobAlert.objects.filter(job_kind=kind, job_id=OuterRef("pk"), level=number)
            condition |= Q(due_at__lt=self.now - datetime.timedelta(hours=float(hours))) & ~Exists(
                alerted
            )
        return MODELS[kind].objects.filter(state__in=JOB_OPEN_STATES).filter(condition)

    def _kinds(self, params: dict[str, Any]) -> list[JobKind]:
        return [JobKind(kind) for kind in params.get("job_kinds") or ("task", "dispatch")]

    def candidates(self, params: dict[str, Any], *, as_of: datetime.date) -> QuerySet:
        raise NotImplementedError("expired jobs span two tables: use count/next_keys")

    def count(self, params: dict[str, Any], *, as_of: datetime.date, after: int) -> int:
        return sum(
            self._late(kind, params).filter(pk__gt=self._after(kind, after)).count()
            for kind in self._kinds(params)
        )

    @staticmethod
    def _after(kind: JobKind, after: int) -> int:
        # job_key(kind, pk) > after  ⇔  pk > _after(kind, after)
        return after // 2 if kind == JobKind.TASK else (after - 1) // 2

    def next_keys(
        self, params: dict[str, Any], *, as_of: datetime.date, after: int, limit: int
    ) -> list[int]:
        keys: list[int] = []
        for kind in self._kinds(params):
            pks = (
                self._late(kind, params)
                .filter(pk__gt=self._after(kind, after))
                .order_by("pk")
                .values_list("pk", flat=True)[:limit]
            )
            keys.extend(job_key(kind, pk) for pk in pks)
        return sorted(keys)[:limit]

    # -- processing -------------------------------------------------------------------------

    def process_batch(
        self,
        params: dict[str, Any],
        ids: list[int],
        *,
        as_of: datetime.date,
        run_number: int | None,
    ) -> list[Outcome]:
        """1. Read the batch's jobs still late and the levels already alerted (one query per
        kind, one for the alerts). 2. Create the notifications (one insert, a duplicate open
        one is skipped), send the e-mails over one connection, record the alerts (one insert).
        """
        levels = _levels(params)
        by_kind: dict[JobKind, list[int]] = defaultdict(list)
        for key in ids:
            kind, pk = job_of(key)
            by_kind[kind].append(pk)
        jobs = self._late_jobs(by_kind, params)
        alerted = self._alerted(by_kind)

        designated = self._designated_users(params)
        alerts: list[JobAlert] = []
        plans: dict[int, tuple[int, Decimal, list[int]]] = {}
        outcomes: dict[int, Outcome] = {}
        for key, job in jobs.items():
            exact = Decimal(str((self.now - job["due_at"]).total_seconds())) / 3600
            late = exact.quantize(Decimal("0.01"))
            reached = [n for n, hours in enumerate(levels, start=1) if exact > hours]
            if not reached:  # not late any more (its due date moved since it was selected)
                continue
            level = reached[-1]
            for number in reached:
                if number not in alerted[key]:
                    alerts.append(
                        JobAlert(
                            job_kind=job["kind"],
                            job_id=job["pk"],
                            level=number,
                            hours_late=late,
                            alerted_at=self.now,
                            process_run_number=run_number,
                        )
                    )
            if level in alerted[key]:
                outcomes[key] = Outcome(
                    key, ok=True, message=_("Already alerted at this lateness level.")
                )
                continue
            recipients = []
            if params.get("alert_owner", True) and job["owner_id"]:
                recipients.append(job["owner_id"])
            if params.get("alert_manager", True) and job["manager_id"]:
                recipients.append(job["manager_id"])
            recipients += designated
            plans[key] = (level, late, list(dict.fromkeys(recipients)))

        deliveries = self._alert(plans, jobs, params, run_number=run_number)
        for alert in alerts:
            key = job_key(alert.job_kind, alert.job_id)
            alert.recipients = ", ".join(deliveries.get(key, {}).get("names", []))
        JobAlert.objects.bulk_create(alerts, ignore_conflicts=True)
        for key, (level, late, _recipients) in plans.items():
            report = deliveries[key]
            ok = not report["failed"]
            message = _(
                "%(job)s is %(hours)s hours late (level %(level)s): notified %(names)s."
            ) % {
                "job": self._describe(jobs[key]),
                "hours": late,
                "level": level,
                "names": ", ".join(report["names"]) or _("nobody (no owner, manager or user)"),
            }
            if report["failed"]:
                message += " " + " ".join(report["failed"])
            outcomes[key] = Outcome(key, ok=ok, message=message)
        gone = _("The job is no longer late or open, or was alerted meanwhile; nothing sent.")
        return [outcomes.get(key) or Outcome(key, ok=True, message=gone) for key in ids]

    def _late_jobs(
        self, by_kind: dict[JobKind, list[int]], params: dict[str, Any]
    ) -> dict[int, dict[str, Any]]:
        """The jobs of the batch still late, by run key (one query per kind)."""
        jobs: dict[int, dict[str, Any]] = {}
        for kind, pks in by_kind.items():
            for row in (
                self._late(kind, params)
                .filter(pk__in=pks)
                .values("pk", "subject", "due_at", "owner_id", "manager_id")
            ):
                jobs[job_key(kind, row["pk"])] = {**row, "kind": kind}
        return jobs

    @staticmethod
    def _alerted(by_kind: dict[JobKind, list[int]]) -> dict[int, set[int]]:
        """The levels already alerted, by run key (one query)."""
        alerted: dict[int, set[int]] = defaultdict(set)
        query = Q()
        for kind, pks in by_kind.items():
            query |= Q(job_kind=kind, job_id__in=pks)
        for kind, pk, level in JobAlert.objects.filter(query).values_list(
            "job_kind", "job_id", "level"
        ):
            alerted[job_key(kind, pk)].add(level)
        return alerted

    def _designated_users(self, params: dict[str, Any]) -> list[int]:
        if self._designated is None:
            self._designated = list(
                get_user_model()
                .objects.filter(username__in=params.get("notify_users") or [], is_active=True)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        return self._designated

    @staticmethod
    def _describe(job: dict[str, Any]) -> str:
        label = JobKind(job["kind"]).label
        return f"{label} #{job['pk']} “{job['subject']}”"

    def _alert(
        self,
        plans: dict[int, tuple[int, Decimal, list[int]]],
        jobs: dict[int, dict[str, Any]],
        params: dict[str, Any],
        *,
        run_number: int | None,
    ) -> dict[int, dict[str, list[str]]]:
        """Notifications and e-mails for ``plans``; per job, who was notified and what failed."""
        user_ids = {user for _level, _late, users in plans.values() for user in users}
        users = {
            row["pk"]: row
            for row in get_user_model()
            .objects.filter(pk__in=user_ids, is_active=True)
            .values("pk", "username", "email", "first_name", "last_name")
        }
        if params.get("template") and self._template is None:
            self._template = CompiledTemplate.load(params["template"])
        notifications, letters = [], []
        report: dict[int, dict[str, list[str]]] = {}
        for key, (level, late, recipients) in plans.items():
            job = jobs[key]
            model = MODELS[job["kind"]]._meta
            link = reverse(f"admin:{model.app_label}_{model.model_name}_change", args=[job["pk"]])
            title = _("%(job)s is %(hours)s hours late") % {
                "job": self._describe(job),
                "hours": late,
            }
            due = timezone.localtime(job["due_at"]).strftime("%Y-%m-%d %H:%M")
            body = _("It was due %(due)s and is still open. Lateness level %(level)s.") % {
                "due": due,
                "level": level,
            }
            report[key] = {"names": [], "failed": []}
            for user_id in recipients:
                user = users.get(user_id)
                if user is None:
                    continue
                report[key]["names"].append(user["username"])
                notifications.append(
                    Notification(
                        user_id=user_id,
                        kind=NotificationKind.NON_BLOCKING,
                        title=title[:200],
                        message=body,
                        link=link,
                        subject_key=f"job-late:{job['kind']}:{job['pk']}:{level}"[:120],
                    )
                )
                if not user["email"]:
                    continue
                name = f"{user['first_name']} {user['last_name']}".strip()
                subject, text, html = title, body, ""
                if self._template is not None:
                    rendered = self._template.render(
                        {
                            "kind": JobKind(job["kind"]).label,
                            "subject": job["subject"],
                            "due_at": timezone.localtime(job["due_at"]),
                            "hours_late": late,
                            "level": level,
                            "recipient": name or user["username"],
                            "link": link,
                        }
                    )
                    subject, text, html = rendered.subject, rendered.text, rendered.html
                letters.append(
                    Letter(
                        key=(key, user_id),
                        to=user["email"],
                        name=name,
                        subject=subject,
                        text=text,
                        html=html,
                        message_id=message_id_for(
                            "job-late", job["kind"], job["pk"], level, user_id
                        ),
                        template_id=self._template.id if self._template else None,
                    )
                )
        Notification.objects.bulk_create(notifications, ignore_conflicts=True)
        for (key, _user), delivery in send_letters(letters, run_number=run_number).items():
            if not delivery.ok:
                report[key]["failed"].append(delivery.message)
        return report
