"""Bug detector (TOTVS "Detector de bugs"): once a day, the errors of the last day — runs that
failed, records processed with errors, exceptions logged by the application — are mailed to
the administrators as one report. Nothing to report, no mail.

The run has a single record, the report (key 1, through ``count``/``next_keys``): its outcome
says what was found and who was mailed. Each administrator gets the report of a date once
(Message-ID ``<bug-report.YYYYMMDD.<user id>@domain>``), however many runs that day.
"""

from __future__ import annotations

import datetime
from collections import Counter
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet
from django.template.defaultfilters import truncatechars
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import BaseModel, ConfigDict, Field

from nightshift.core import roles
from nightshift.mail.models import LoggedError
from nightshift.mail.sending import Letter, message_id_for, send_letters
from nightshift.processes.base import Outcome, ParameterError, Process
from nightshift.processes.registry import register
from nightshift.runs.models import ProcessRun, RunItem, RunState

__all__ = ["BugDetector", "collect_errors"]

REPORT_KEY = 1  # the run's one record: the report
SAMPLES = 5  # error messages quoted per run or per logged error kind


class BugDetectorParameters(BaseModel):
    """The period looked back on and who gets the report."""

    model_config = ConfigDict(extra="forbid", title="Bug detector")

    hours: int = Field(
        title="Look back (hours)",
        json_schema_extra={"group": "criteria"},
        default=24,
        ge=1,
        le=24 * 31,
        description="Errors of this many hours before the run are reported.",
    )
    extra_recipients: list[str] = Field(
        title="Other recipients",
        json_schema_extra={"group": "input_settings"},
        default_factory=list,
        description="Addresses that get the report besides the administrators.",
    )


def collect_errors(since: datetime.datetime, until: datetime.datetime) -> dict[str, Any]:
    """What went wrong between ``since`` and ``until``: failed runs, runs with records in
    error (with a few of their messages), and logged errors grouped by logger and message."""
    ended = ProcessRun.objects.filter(ended_at__gte=since, ended_at__lt=until).select_related(
        "definition"
    )
    failed = list(ended.filter(state=RunState.FAILED).order_by("pk"))
    with_errors = list(ended.filter(failed__gt=0).exclude(state=RunState.FAILED).order_by("pk"))
    samples: dict[int, list[str]] = {}
    for run in with_errors:
        samples[run.pk] = list(
            RunItem.objects.filter(run=run, ok=False)
            .order_by("pk")
            .values_list("message", flat=True)[:SAMPLES]
        )
    logged = list(
        LoggedError.objects.filter(logged_at__gte=since, logged_at__lt=until)
        .values("logger_name", "message")
        .annotate(times=Count("pk"))
        .order_by("-times", "logger_name")[:50]
    )
    return {"failed": failed, "with_errors": with_errors, "samples": samples, "logged": logged}


def _has_errors(found: dict[str, Any]) -> bool:
    return bool(found["failed"] or found["with_errors"] or found["logged"])


def _report(found: dict[str, Any], since, until) -> tuple[str, str, str]:
    """(subject, text, HTML) of the report."""
    span = {
        "since": timezone.localtime(since).strftime("%Y-%m-%d %H:%M"),
        "until": timezone.localtime(until).strftime("%Y-%m-%d %H:%M"),
    }
    subject = _(
        "Nightshift bug detector: %(failed)s failed runs, %(errors)s runs with errors, "
        "%(logged)s logged errors"
    ) % {
        "failed": len(found["failed"]),
        "errors": len(found["with_errors"]),
        "logged": sum(row["times"] for row in found["logged"]),
    }
    base = settings.NIGHTSHIFT_BASE_URL.rstrip("/")
    lines = [_("Errors from %(since)s to %(until)s.") % span, ""]
    html = [format_html("<p>{}</p>", _("Errors from %(since)s to %(until)s.") % span)]
    if found["failed"]:
        lines.append(_("Failed runs:"))
        html.append(format_html("<h2>{}</h2>", _("Failed runs")))
        items = []
        for run in found["failed"]:
            url = f"{base}/runs/{run.pk}/"
            lines.append(f"- #{run.pk} {run.definition.name} ({run.process_key}): {run.message}")
            lines.append(f"  {url}")
            items.append((url, run.pk, run.definition.name, run.message))
        html.append(
            format_html(
                "<ul>{}</ul>",
                format_html_join("", '<li><a href="{}">#{}</a> {}: {}</li>', items),
            )
        )
        lines.append("")
    if found["with_errors"]:
        lines.append(_("Runs with records in error:"))
        html.append(format_html("<h2>{}</h2>", _("Runs with records in error")))
        items = []
        for run in found["with_errors"]:
            url = f"{base}/runs/{run.pk}/"
            summary = _("%(failed)s of %(total)s records in error") % {
                "failed": run.failed,
                "total": run.processed,
            }
            lines.append(f"- #{run.pk} {run.definition.name}: {summary}  {url}")
            quoted = [truncatechars(message, 200) for message in found["samples"].get(run.pk, [])]
            lines.extend(f"    {message}" for message in quoted)
            items.append((url, run.pk, run.definition.name, summary, "; ".join(quoted)))
        html.append(
            format_html(
                "<ul>{}</ul>",
                format_html_join(
                    "", '<li><a href="{}">#{}</a> {}: {}<br><small>{}</small></li>', items
                ),
            )
        )
        lines.append("")
    if found["logged"]:
        lines.append(_("Errors logged by the application:"))
        html.append(format_html("<h2>{}</h2>", _("Errors logged by the application")))
        items = []
        for row in found["logged"]:
            message = truncatechars(row["message"], 300)
            lines.append(f"- {row['times']}× {row['logger_name']}: {message}")
            items.append((row["times"], row["logger_name"], message))
        html.append(format_html("<ul>{}</ul>", format_html_join("", "<li>{}× {}: {}</li>", items)))
    return subject, "\n".join(lines) + "\n", "\n".join(html)


@register
class BugDetector(Process):
    """Mail the administrators the errors of the last day (module docstring)."""

    key = "system.bug_detector"
    name = gettext_lazy("Bug detector")
    description = gettext_lazy(
        "Collects the errors of the last day (failed runs, records processed with errors, "
        "exceptions logged by the application) and mails the administrators a report; "
        "nothing to report, no mail."
    )
    Parameters = BugDetectorParameters
    model = None  # the one record is the report
    default_agenda = {"mode": "cron", "expression": "0 6 * * *"}  # daily, before office hours

    def __init__(self) -> None:
        self.now = timezone.now()

    @classmethod
    def check(cls, params: BugDetectorParameters) -> None:
        from django.core.exceptions import ValidationError
        from django.core.validators import validate_email

        bad = []
        for address in params.extra_recipients:
            try:
                validate_email(address)
            except ValidationError:
                bad.append(address)
        if bad:
            raise ParameterError(
                {
                    "extra_recipients": _("Not e-mail addresses: %(list)s.")
                    % {"list": ", ".join(bad)}
                }
            )

    def candidates(self, params: dict[str, Any], *, as_of: datetime.date) -> QuerySet:
        raise NotImplementedError("the bug detector's one record is its report")

    def count(self, params: dict[str, Any], *, as_of: datetime.date, after: int) -> int:
        return 1 if after < REPORT_KEY else 0

    def next_keys(
        self, params: dict[str, Any], *, as_of: datetime.date, after: int, limit: int
    ) -> list[int]:
        return [REPORT_KEY] if after < REPORT_KEY and limit > 0 else []

    def process_batch(
        self,
        params: dict[str, Any],
        ids: list[int],
        *,
        as_of: datetime.date,
        run_number: int | None,
    ) -> list[Outcome]:
        since = self.now - datetime.timedelta(hours=params.get("hours") or 24)
        found = collect_errors(since, self.now)
        if not _has_errors(found):
            return [Outcome(REPORT_KEY, ok=True, message=_("No errors to report; no mail sent."))]
        subject, text, html = _report(found, since, self.now)
        day = as_of.strftime("%Y%m%d")
        letters = [
            Letter(
                key=f"user:{user['pk']}",
                to=user["email"],
                name=f"{user['first_name']} {user['last_name']}".strip(),
                subject=subject,
                text=text,
                html=html,
                message_id=message_id_for("bug-report", day, user["pk"]),
            )
            for user in _administrators()
        ]
        letters += [
            Letter(
                key=f"extra:{address}",
                to=address,
                subject=subject,
                text=text,
                html=html,
                message_id=message_id_for("bug-report", day, address.replace("@", "=")),
            )
            for address in params.get("extra_recipients") or []
        ]
        if not letters:
            return [
                Outcome(
                    REPORT_KEY,
                    ok=False,
                    message=_("Errors were found but no administrator has an e-mail address."),
                )
            ]
        deliveries = send_letters(letters, run_number=run_number)
        failed = [d.message for d in deliveries.values() if not d.ok]
        statuses = Counter(d.status.label for d in deliveries.values())
        message = _("%(subject)s. Report: %(statuses)s.") % {
            "subject": subject,
            "statuses": ", ".join(f"{label} {n}" for label, n in sorted(statuses.items())),
        }
        if failed:
            message += " " + " ".join(failed)
        return [Outcome(REPORT_KEY, ok=not failed, message=message)]


def _administrators() -> list[dict[str, Any]]:
    """Active superusers and members of the Administrators group with an e-mail address."""
    return list(
        get_user_model()
        .objects.filter(Q(is_superuser=True) | Q(groups__name=roles.ADMINISTRATORS))
        .filter(is_active=True)
        .exclude(email="")
        .distinct()
        .order_by("pk")
        .values("pk", "email", "first_name", "last_name")
    )
