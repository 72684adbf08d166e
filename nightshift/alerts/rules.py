"""The sources the notifications process reads: the reminders configured on CRM records and
the sales process rules that raise blocking notifications.

Each source selects its records as one queryset annotated with ``recipient`` (the user to
notify) and turns one row of it into a notification. Its records are numbered
``index * KEY_STRIDE + pk`` so that the engine sees one ascending sequence of keys across all
sources, and a run resumed after a crash carries on above its cursor.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import CharField, Exists, F, OuterRef, QuerySet, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from nightshift.crm.choices import (
    JOB_OPEN_STATES,
    OPPORTUNITY_CLOSED,
    ActionKind,
    InvoiceState,
    NotificationKind,
)
from nightshift.crm.models import Action, Event, Invoice, Notification, Opportunity, Task

__all__ = ["KEY_STRIDE", "SOURCES", "Source", "Window", "decode", "source_by_index"]

# Primary keys stay far below this (a trillion rows), and index * stride + pk fits a bigint.
KEY_STRIDE = 10**12


@dataclass(frozen=True)
class Window:
    """The instants a run on ``as_of`` looks at, from its parameters (local days)."""

    as_of: datetime.date
    reminders_from: datetime.datetime
    reminders_until: datetime.datetime
    expiring_from: datetime.datetime
    expiring_until: datetime.datetime

    @classmethod
    def of(cls, params: dict[str, Any], as_of: datetime.date) -> Window:
        return cls(
            as_of=as_of,
            reminders_from=day_start(as_of, -params["reminder_lookback_days"]),
            reminders_until=day_start(as_of, 1 + params["reminder_lookahead_days"]),
            expiring_from=day_start(as_of),
            expiring_until=day_start(as_of, 1 + (params["task_expiring_days"] or 0)),
        )


def day_start(day: datetime.date, offset: int = 0) -> datetime.datetime:
    """Local midnight starting ``day`` + ``offset`` days, as an aware datetime."""
    return timezone.make_aware(
        datetime.datetime.combine(day + datetime.timedelta(days=offset), datetime.time())
    )


def _when(value: datetime.datetime | datetime.date | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime.datetime):
        return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    return formats.date_format(value, "SHORT_DATE_FORMAT")


_PK_MARK = 987654321  # stands for the primary key in a reversed URL


@functools.cache
def _admin_link_pattern(model) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[_PK_MARK])
    return url.replace(str(_PK_MARK), "{pk}")


def _admin_link(model, pk: int) -> str:
    # Reversed once per model: reverse() per notification cost a third of a batch's time.
    return _admin_link_pattern(model).format(pk=pk)


def _key_expression(record: str, rule: str) -> Concat:
    """The subject key of a once-per-record rule, built in SQL for the outer row."""
    return Concat(
        Value(f"{record}:"),
        Cast(OuterRef("pk"), output_field=CharField()),
        Value(f":{rule}"),
        output_field=CharField(),
    )


@dataclass(frozen=True)
class Built:
    """A notification a source wants for one record."""

    user_id: int
    title: str
    message: str
    link: str
    subject_key: str
    deadline: datetime.datetime | None


@dataclass(frozen=True)
class Source:
    """One kind of thing the process notifies. ``select`` returns the queryset (annotated with
    ``recipient``) of the records due; ``build`` makes the notification of one of its rows
    (``values(*fields)``); ``enabled`` says whether the run's parameters switch it on."""

    index: int
    slug: str
    kind: NotificationKind
    model: type
    fields: tuple[str, ...]
    select: Callable[[dict[str, Any], Window], QuerySet]
    build: Callable[[dict[str, Any], dict[str, Any], Window], Built]
    enabled: Callable[[dict[str, Any]], bool] = field(default=lambda params: True)

    def candidates(self, params: dict[str, Any], window: Window) -> QuerySet:
        return (
            self.select(params, window)
            .filter(recipient__isnull=False)
            .annotate(key=F("pk") + Value(self.index * KEY_STRIDE))
            .order_by("pk")
        )


def _unnotified(queryset: QuerySet, record: str, rule: str) -> QuerySet:
    """Leave out records whose once-per-record notification the recipient already has (in any
    state: attended or released ones are not raised again)."""
    already = Notification.objects.filter(
        user_id=OuterRef("recipient"), subject_key=_key_expression(record, rule)
    )
    return queryset.filter(~Exists(already))


def _reminder_enabled(source: str) -> Callable[[dict[str, Any]], bool]:
    return lambda params: source in params["reminder_sources"]


def _reminder_key(record: str, pk: int, reminder_at: datetime.datetime) -> str:
    # The reminder's instant is part of the key: a reminder moved to another day is a new one.
    stamp = reminder_at.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M")
    return f"{record}:{pk}:reminder:{stamp}"


def _task_recipient() -> Coalesce:
    return Coalesce("owner_id", "manager_id")


# -- tasks ----------------------------------------------------------------------------------


def _tasks_expiring(params: dict[str, Any], window: Window) -> QuerySet:
    tasks = Task.objects.filter(
        state__in=JOB_OPEN_STATES,
        due_at__gte=window.expiring_from,
        due_at__lt=window.expiring_until,
    ).annotate(recipient=_task_recipient())
    return _unnotified(tasks, "task", "expiring")


def _task_expiring(row: dict[str, Any], params: dict[str, Any], window: Window) -> Built:
    return Built(
        user_id=row["recipient"],
        title=_("Task due %(due)s: %(subject)s")
        % {"due": _when(row["due_at"]), "subject": row["subject"]},
        message=_("The task is about to expire: finish it, or move its due date."),
        link=_admin_link(Task, row["pk"]),
        subject_key=f"task:{row['pk']}:expiring",
        deadline=row["due_at"],
    )


def _task_reminders(params: dict[str, Any], window: Window) -> QuerySet:
    return Task.objects.filter(
        state__in=JOB_OPEN_STATES,
        reminder_at__gte=window.reminders_from,
        reminder_at__lt=window.reminders_until,
    ).annotate(recipient=_task_recipient())


def _task_reminder(row: dict[str, Any], params: dict[str, Any], window: Window) -> Built:
    return Built(
        user_id=row["recipient"],
        title=_("Reminder: task %(subject)s") % {"subject": row["subject"]},
        message=_("Reminder set for %(when)s; the task is due %(due)s.")
        % {"when": _when(row["reminder_at"]), "due": _when(row["due_at"])},
        link=_admin_link(Task, row["pk"]),
        subject_key=_reminder_key("task", row["pk"], row["reminder_at"]),
        deadline=row["reminder_at"],
    )


def _tasks_overdue(params: dict[str, Any], window: Window) -> QuerySet:
    tasks = Task.objects.filter(
        state__in=JOB_OPEN_STATES,
        due_at__lt=day_start(window.as_of, -params["task_overdue_days"]),
    ).annotate(recipient=_task_recipient())
    return _unnotified(tasks, "task", "overdue")


def _task_overdue(row: dict[str, Any], params: dict[str, Any], window: Window) -> Built:
    return Built(
        user_id=row["recipient"],
        title=_("Overdue task: %(subject)s (due %(due)s)")
        % {"subject": row["subject"], "due": _when(row["due_at"])},
        message=_(
            "The sales process does not allow a task to stay open more than %(days)s days past "
            "its due date. Finish or reschedule it, then attend to this notification."
        )
        % {"days": params["task_overdue_days"]},
        link=_admin_link(Task, row["pk"]),
        subject_key=f"task:{row['pk']}:overdue",
        deadline=_blocking_deadline(params),
    )


# -- actions, events, opportunities, invoices -----------------------------------------------


def _action_reminders(params: dict[str, Any], window: Window) -> QuerySet:
    return Action.objects.filter(
        performed_at__isnull=True,
        reminder_at__gte=window.reminders_from,
        reminder_at__lt=window.reminders_until,
    ).annotate(recipient=F("owner_id"), contact_code=F("contact__code"))


def _action_reminder(row: dict[str, Any], params: dict[str, Any], window: Window) -> Built:
    return Built(
        user_id=row["recipient"],
        title=_("Reminder: %(kind)s with %(contact)s")
        % {"kind": _kind_label(row["kind"]), "contact": row["contact_code"]},
        message=(row["description"] or "")[:500],
        link=_admin_link(Action, row["pk"]),
        subject_key=_reminder_key("action", row["pk"], row["reminder_at"]),
        deadline=row["reminder_at"],
    )


def _kind_label(kind: str) -> str:
    try:
        return str(ActionKind(kind).label)
    except ValueError:
        return kind


def _event_reminders(params: dict[str, Any], window: Window) -> QuerySet:
    return Event.objects.filter(
        reminder_at__gte=window.reminders_from,
        reminder_at__lt=window.reminders_until,
    ).annotate(recipient=F("owner_id"))


def _event_reminder(row: dict[str, Any], params: dict[str, Any], window: Window) -> Built:
    return Built(
        user_id=row["recipient"],
        title=_("Reminder: %(subject)s on %(starts)s")
        % {"subject": row["subject"], "starts": _when(row["starts_at"])},
        message=row["location"] or "",
        link=_admin_link(Event, row["pk"]),
        subject_key=_reminder_key("event", row["pk"], row["reminder_at"]),
        deadline=row["starts_at"],
    )


def _opportunity_reminders(params: dict[str, Any], window: Window) -> QuerySet:
    return (
        Opportunity.objects.exclude(stage__in=OPPORTUNITY_CLOSED)
        .filter(reminder_at__gte=window.reminders_from, reminder_at__lt=window.reminders_until)
        .annotate(recipient=F("owner_id"))
    )


def _opportunity_reminder(row: dict[str, Any], params: dict[str, Any], window: Window) -> Built:
    return Built(
        user_id=row["recipient"],
        title=_("Reminder: opportunity %(code)s · %(name)s")
        % {"code": row["code"], "name": row["name"]},
        message=_("Expected close date: %(date)s.") % {"date": _when(row["expected_close_date"])},
        link=_admin_link(Opportunity, row["pk"]),
        subject_key=_reminder_key("opportunity", row["pk"], row["reminder_at"]),
        deadline=row["reminder_at"],
    )


def _opportunities_past_close(params: dict[str, Any], window: Window) -> QuerySet:
    closes_before = window.as_of - datetime.timedelta(days=params["opportunity_past_close_days"])
    opportunities = (
        Opportunity.objects.exclude(stage__in=OPPORTUNITY_CLOSED)
        .filter(
            expected_close_date__lt=closes_before,
            updated_at__lt=day_start(window.as_of, -params["opportunity_idle_days"]),
        )
        .annotate(recipient=F("owner_id"))
    )
    return _unnotified(opportunities, "opportunity", "past_close")


def _opportunity_past_close(row: dict[str, Any], params: dict[str, Any], window: Window) -> Built:
    return Built(
        user_id=row["recipient"],
        title=_("Opportunity %(code)s is past its expected close date (%(date)s)")
        % {"code": row["code"], "date": _when(row["expected_close_date"])},
        message=_(
            "The sales process requires an open opportunity past its expected close date to be "
            "won, lost or given a new date; it was not updated for %(days)s days. Update it, "
            "then attend to this notification."
        )
        % {"days": params["opportunity_idle_days"]},
        link=_admin_link(Opportunity, row["pk"]),
        subject_key=f"opportunity:{row['pk']}:past_close",
        deadline=_blocking_deadline(params),
    )


def _invoice_reminders(params: dict[str, Any], window: Window) -> QuerySet:
    return Invoice.objects.filter(
        state=InvoiceState.POSTED,
        balance__gt=0,
        reminder_at__gte=window.reminders_from,
        reminder_at__lt=window.reminders_until,
    ).annotate(recipient=F("contact__account_manager_id"))


def _invoice_reminder(row: dict[str, Any], params: dict[str, Any], window: Window) -> Built:
    return Built(
        user_id=row["recipient"],
        title=_("Reminder: invoice %(code)s, balance %(balance)s %(currency)s")
        % {"code": row["code"], "balance": row["balance"], "currency": row["currency"]},
        message=_("Issued %(issued)s with %(days)s days to pay.")
        % {"issued": _when(row["issued_on"]), "days": row["payment_terms_days"]},
        link=_admin_link(Invoice, row["pk"]),
        subject_key=_reminder_key("invoice", row["pk"], row["reminder_at"]),
        deadline=row["reminder_at"],
    )


def _blocking_deadline(params: dict[str, Any]) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(hours=params["blocking_deadline_hours"])


# The order is part of the keys stored in run items: append, never reorder.
SOURCES: tuple[Source, ...] = (
    Source(
        1,
        "task_expiring",
        NotificationKind.NON_BLOCKING,
        Task,
        ("pk", "recipient", "subject", "due_at"),
        _tasks_expiring,
        _task_expiring,
        enabled=lambda params: params["task_expiring_days"] is not None,
    ),
    Source(
        2,
        "task",
        NotificationKind.NON_BLOCKING,
        Task,
        ("pk", "recipient", "subject", "due_at", "reminder_at"),
        _task_reminders,
        _task_reminder,
        enabled=_reminder_enabled("task"),
    ),
    Source(
        3,
        "action",
        NotificationKind.NON_BLOCKING,
        Action,
        ("pk", "recipient", "kind", "contact_code", "description", "reminder_at"),
        _action_reminders,
        _action_reminder,
        enabled=_reminder_enabled("action"),
    ),
    Source(
        4,
        "opportunity",
        NotificationKind.NON_BLOCKING,
        Opportunity,
        ("pk", "recipient", "code", "name", "expected_close_date", "reminder_at"),
        _opportunity_reminders,
        _opportunity_reminder,
        enabled=_reminder_enabled("opportunity"),
    ),
    Source(
        5,
        "event",
        NotificationKind.NON_BLOCKING,
        Event,
        ("pk", "recipient", "subject", "starts_at", "location", "reminder_at"),
        _event_reminders,
        _event_reminder,
        enabled=_reminder_enabled("event"),
    ),
    Source(
        6,
        "invoice",
        NotificationKind.NON_BLOCKING,
        Invoice,
        (
            "pk",
            "recipient",
            "code",
            "balance",
            "currency",
            "issued_on",
            "payment_terms_days",
            "reminder_at",
        ),
        _invoice_reminders,
        _invoice_reminder,
        enabled=_reminder_enabled("invoice"),
    ),
    Source(
        7,
        "task_overdue",
        NotificationKind.BLOCKING,
        Task,
        ("pk", "recipient", "subject", "due_at"),
        _tasks_overdue,
        _task_overdue,
        enabled=lambda params: params["task_overdue_days"] is not None,
    ),
    Source(
        8,
        "opportunity_past_close",
        NotificationKind.BLOCKING,
        Opportunity,
        ("pk", "recipient", "code", "expected_close_date"),
        _opportunities_past_close,
        _opportunity_past_close,
        enabled=lambda params: params["opportunity_past_close_days"] is not None,
    ),
)

_BY_INDEX = {source.index: source for source in SOURCES}


def source_by_index(index: int) -> Source | None:
    return _BY_INDEX.get(index)


def decode(key: int) -> tuple[int, int]:
    """``(source index, primary key)`` of a process key."""
    return divmod(key, KEY_STRIDE)
