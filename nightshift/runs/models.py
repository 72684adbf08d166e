"""The engine's records: run definitions and their versions, scheduled tasks, process runs with
their per-record items, application servers and their workers, the scheduler's state, the
automatic agenda and the daily log.

Models hold single-row invariants and state names; every write that changes state goes through
``nightshift.runs.actions`` (operators), ``nightshift.runs.scheduler`` (firing) or
``nightshift.runs.engine`` (executing).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from nightshift.core.models import AuditedModel, AuditedQuerySet

__all__ = [
    "AgendaEntry",
    "ApplicationServer",
    "LifeCycle",
    "LogEntry",
    "LogLevel",
    "MisfirePolicy",
    "ProcessRun",
    "RunDefinition",
    "RunItem",
    "RunState",
    "ScheduledTask",
    "SchedulerState",
    "TaskState",
    "Worker",
]

DEFAULT_SERVER = "default"


class LifeCycle(models.TextChoices):
    EFFECTIVE = "effective", _("Effective")
    NOT_EFFECTIVE = "not_effective", _("Not effective")


class LogLevel(models.TextChoices):
    ERRORS = "errors", _("Errors only")
    ALL = "all", _("Success and errors")


class MisfirePolicy(models.TextChoices):
    FIRE_ONCE = "fire_once", _("Fire once now")
    SKIP = "skip", _("Skip")


class TaskState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    COMPLETED = "completed", pgettext_lazy("scheduled task state", "Completed")
    DELETED = "deleted", _("Deleted")


class RunState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_PROGRESS = "in_progress", _("In progress")
    # "Completed" alone is also a CRM state, translated there for another gender.
    COMPLETED = "completed", pgettext_lazy("process run state", "Completed")
    COMPLETED_WITH_ERRORS = "completed_with_errors", _("Completed with errors")
    FAILED = "failed", _("Failed")
    STOPPED = "stopped", _("Stopped")

    @classmethod
    def active(cls) -> list[str]:
        """States of a run that has not ended yet."""
        return [cls.DRAFT, cls.IN_PROGRESS]

    @classmethod
    def ended(cls) -> list[str]:
        return [cls.COMPLETED, cls.COMPLETED_WITH_ERRORS, cls.FAILED, cls.STOPPED]


class ApplicationServer(AuditedModel):
    """A named pool of workers (the TOTVS "Servidor RPW"): one task queue of the task backend.
    A definition may name one; otherwise the default server runs it."""

    name = models.SlugField(_("name"), max_length=60, unique=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    is_default = models.BooleanField(_("default server"), default=False)

    class Meta:
        verbose_name = _("application server")
        verbose_name_plural = _("application servers")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="runs_one_default_server"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def default(cls) -> ApplicationServer:
        server = cls.objects.filter(is_default=True).first()
        if server is None:
            server, _created = cls.objects.get_or_create(
                name=DEFAULT_SERVER, defaults={"is_default": True}
            )
        return server


class Worker(models.Model):
    """A running worker process of an application server; ``last_seen`` is its heartbeat. A
    worker silent for longer than ``NIGHTSHIFT_WORKER_TIMEOUT`` has its runs taken over."""

    worker_id = models.CharField(_("worker"), max_length=64, unique=True)
    server = models.ForeignKey(
        ApplicationServer, verbose_name=_("application server"), on_delete=models.CASCADE
    )
    hostname = models.CharField(_("host"), max_length=200)
    pid = models.PositiveIntegerField(_("process id"))
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    last_seen = models.DateTimeField(_("last heartbeat"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("worker")
        verbose_name_plural = _("workers")
        ordering = ["server__name", "worker_id"]

    def __str__(self) -> str:
        return self.worker_id


class SchedulerState(models.Model):
    """The one row saying whether the scheduler is Running or in Standby, who switched it and
    when the loop last ticked (its heartbeat for /healthz)."""

    running = models.BooleanField(_("running"), default=True)
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    last_tick_at = models.DateTimeField(_("last tick"), null=True, blank=True)

    class Meta:
        verbose_name = _("scheduler state")
        verbose_name_plural = _("scheduler state")

    def __str__(self) -> str:
        return str(_("Running") if self.running else _("Standby"))

    @classmethod
    def get(cls) -> SchedulerState:
        state, _created = cls.objects.get_or_create(pk=1)
        return state


class AgendaEntry(AuditedModel):
    """The automatic agenda: an administrator's default schedule for a process type. A
    definition that follows the agenda is submitted with this schedule instead of its own."""

    process_key = models.CharField(_("process"), max_length=100, unique=True)
    schedule = models.JSONField(_("scheduling settings"))

    class Meta:
        verbose_name = _("automatic agenda entry")
        verbose_name_plural = _("automatic agenda")
        ordering = ["process_key"]

    def __str__(self) -> str:
        return self.process_key


class RunDefinitionQuerySet(AuditedQuerySet):
    def with_scheduled_date(self) -> RunDefinitionQuerySet:
        """Annotate ``next_scheduled`` (what ``RunDefinition.scheduled_date`` answers) for
        every row in the same query: lists need it per row."""
        return self.annotate(
            next_scheduled=models.Subquery(
                _scheduled_tasks(models.OuterRef("unified_code"))
                .order_by("next_fire_at")
                .values("next_fire_at")[:1]
            )
        )


def _scheduled_tasks(unified_code):
    return ScheduledTask.objects.filter(
        definition__unified_code=unified_code, state=TaskState.SCHEDULED
    )


class RunDefinition(AuditedModel):
    """One version of a run definition. The versions of a definition share ``unified_code``;
    exactly one of them ``is_latest``. Definitions are never deleted."""

    process_key = models.CharField(_("process"), max_length=100, db_index=True)
    name = models.CharField(_("name"), max_length=200)
    alternative_code = models.CharField(_("alternative code"), max_length=60, blank=True)
    description = models.TextField(_("description"), blank=True)
    life_cycle = models.CharField(
        _("life cycle state"), max_length=16, choices=LifeCycle, default=LifeCycle.EFFECTIVE
    )
    unified_code = models.CharField(_("unified code"), max_length=20, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    is_latest = models.BooleanField(_("latest version"), default=True, editable=False)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    schedule = models.JSONField(_("scheduling settings"), default=dict, blank=True)
    follow_agenda = models.BooleanField(_("follow the automatic agenda"), default=False)
    throttle = models.JSONField(_("throttling settings"), null=True, blank=True)
    server = models.ForeignKey(
        ApplicationServer,
        verbose_name=_("application server"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    log_level = models.CharField(
        _("log level"), max_length=8, choices=LogLevel, default=LogLevel.ERRORS
    )
    notify_on_completion = models.BooleanField(_("notify on completion"), default=True)
    misfire_policy = models.CharField(
        _("missed firings"), max_length=12, choices=MisfirePolicy, default=MisfirePolicy.FIRE_ONCE
    )

    objects = RunDefinitionQuerySet.as_manager()

    class Meta:
        verbose_name = _("run definition")
        verbose_name_plural = _("run definitions")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["unified_code", "version"], name="runs_one_version"),
            models.UniqueConstraint(
                fields=["unified_code"], condition=Q(is_latest=True), name="runs_one_latest"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unified_code} v{self.version} {self.name}"

    @property
    def is_effective(self) -> bool:
        return self.life_cycle == LifeCycle.EFFECTIVE

    def versions(self) -> models.QuerySet[RunDefinition]:
        return RunDefinition.objects.filter(unified_code=self.unified_code).order_by("-version")

    def scheduled_date(self):
        """The next time any version of this definition is scheduled to fire (read-only)."""
        if hasattr(self, "next_scheduled"):  # annotated by ``with_scheduled_date``
            return self.next_scheduled
        return (
            _scheduled_tasks(self.unified_code)
            .order_by("next_fire_at")
            .values_list("next_fire_at", flat=True)
            .first()
        )

    def is_used(self) -> bool:
        """A version with runs or scheduled tasks is kept as it was; editing makes a new one."""
        return self.tasks.exists() or self.runs.exists()


class ScheduledTask(AuditedModel):
    """What the scheduler holds for a submitted definition version. ``next_fire_at`` is the
    next slot to fire; firing a slot and moving ``next_fire_at`` on happen in one transaction
    with the run they create."""

    definition = models.ForeignKey(
        RunDefinition,
        verbose_name=_("run definition"),
        on_delete=models.PROTECT,
        related_name="tasks",
    )
    state = models.CharField(
        _("state"), max_length=12, choices=TaskState, default=TaskState.SCHEDULED
    )
    schedule = models.JSONField(_("scheduling settings"))
    anchor = models.DateTimeField(_("submitted at"), default=timezone.now)
    next_fire_at = models.DateTimeField(_("next firing"), null=True, blank=True)
    misfire_policy = models.CharField(
        _("missed firings"), max_length=12, choices=MisfirePolicy, default=MisfirePolicy.FIRE_ONCE
    )
    server = models.ForeignKey(
        ApplicationServer, verbose_name=_("application server"), on_delete=models.PROTECT
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    fired_count = models.PositiveIntegerField(_("firings"), default=0)
    last_fired_at = models.DateTimeField(_("last firing"), null=True, blank=True)

    class Meta:
        verbose_name = _("scheduled task")
        verbose_name_plural = _("scheduled tasks")
        ordering = ["-pk"]
        indexes = [
            # The scheduler's only hot query: due tasks in slot order.
            models.Index(
                fields=["next_fire_at"],
                condition=Q(state="scheduled"),
                name="runs_task_due",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.definition.name}"


class ProcessRun(AuditedModel):
    """One execution of a definition version. Its number is its primary key. ``cursor`` is the
    highest candidate id whose batch committed: a run resumed after a crash carries on above it,
    so no record is processed twice or skipped."""

    definition = models.ForeignKey(
        RunDefinition,
        verbose_name=_("run definition"),
        on_delete=models.PROTECT,
        related_name="runs",
    )
    task = models.ForeignKey(
        ScheduledTask,
        verbose_name=_("scheduled task"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="runs",
    )
    scheduled_for = models.DateTimeField(_("scheduled for"), null=True, blank=True)
    process_key = models.CharField(_("process"), max_length=100, db_index=True)
    state = models.CharField(
        _("state"), max_length=24, choices=RunState, default=RunState.DRAFT, db_index=True
    )
    server = models.ForeignKey(
        ApplicationServer, verbose_name=_("application server"), on_delete=models.PROTECT
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    as_of = models.DateField(_("date of execution"))
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    total = models.PositiveIntegerField(_("total"), null=True, blank=True)
    processed = models.PositiveIntegerField(_("processed"), default=0)
    succeeded = models.PositiveIntegerField(_("succeeded"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    cursor = models.BigIntegerField(_("last record processed"), default=0)
    stop_requested = models.BooleanField(_("stop requested"), default=False)
    worker_id = models.CharField(_("worker"), max_length=64, blank=True)
    message = models.TextField(_("message"), blank=True)
    records_left = models.BooleanField(
        _("records left"), default=False, help_text=_("Ended at its throttling cap.")
    )

    class Meta:
        verbose_name = _("process run")
        verbose_name_plural = _("process runs")
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "scheduled_for"],
                condition=Q(task__isnull=False),
                name="runs_one_run_per_slot",
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="runs_run_created")]

    def __str__(self) -> str:
        return f"#{self.pk}"

    @property
    def number(self) -> int:
        return self.pk

    @property
    def is_active(self) -> bool:
        return self.state in RunState.active()

    @property
    def progress(self) -> int:
        """Percentage of the run's records processed so far."""
        if self.state in (RunState.COMPLETED, RunState.COMPLETED_WITH_ERRORS):
            return 100
        if not self.total:
            return 0
        return min(100, self.processed * 100 // self.total)

    def summary(self) -> dict:
        """What the CLI and API print for a run (the contract in DESIGN.md §6), with the
        figures its process adds (an import's created, updated, rejected and error file; an
        archive run's rows archived and its archive)."""
        return {
            "number": self.pk,
            "process": self.process_key,
            "definition": self.definition.unified_code,
            "version": self.definition.version,
            "state": self.state,
            "total": self.total,
            "processed": self.processed,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "progress": self.progress,
            "server": self.server.name,
            "scheduled_for": _iso(self.scheduled_for),
            "started_at": _iso(self.started_at),
            "ended_at": _iso(self.ended_at),
            "message": self.message,
            **self._process_summary(),
        }

    def _process_summary(self) -> dict:
        from nightshift.processes.registry import get_process

        try:
            return get_process(self.process_key).run_summary(self)
        except LookupError:
            return {}


def _iso(value) -> str | None:
    return value.isoformat() if value else None


class RunItem(models.Model):
    """The outcome for one record of a run. With log level "errors only" successes are counted
    on the run, not stored."""

    run = models.ForeignKey(ProcessRun, on_delete=models.CASCADE, related_name="items")
    record_id = models.BigIntegerField(_("record"))
    ok = models.BooleanField(_("succeeded"))
    message = models.TextField(_("message"), blank=True)

    class Meta:
        verbose_name = _("run item")
        verbose_name_plural = _("run items")
        constraints = [
            # A record is processed at most once per run, whatever crashes happen.
            models.UniqueConstraint(fields=["run", "record_id"], name="runs_item_once")
        ]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.record_id}"


class LogEntry(models.Model):
    """The daily log: what the scheduler, the workers and the runs did, in the operator's words."""

    class Level(models.TextChoices):
        INFO = "info", _("Information")
        WARNING = "warning", _("Warning")
        ERROR = "error", _("Error")

    class Source(models.TextChoices):
        SCHEDULER = "scheduler", _("Scheduler")
        WORKER = "worker", _("Worker")
        RUN = "run", _("Run")
        OPERATOR = "operator", _("Operator")

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    level = models.CharField(_("level"), max_length=8, choices=Level, default=Level.INFO)
    source = models.CharField(_("source"), max_length=10, choices=Source)
    task = models.ForeignKey(
        ScheduledTask, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    run = models.ForeignKey(
        ProcessRun, on_delete=models.CASCADE, null=True, blank=True, related_name="log"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    message = models.TextField(_("message"))

    class Meta:
        verbose_name = _("log entry")
        verbose_name_plural = _("daily log")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return self.message


def ensure_defaults(**kwargs) -> None:
    """After migrate: the default application server and the scheduler's state row exist."""
    using = kwargs.get("using", "default")
    if not ApplicationServer.objects.using(using).filter(is_default=True).exists():
        ApplicationServer.objects.using(using).get_or_create(
            name=DEFAULT_SERVER, defaults={"is_default": True}
        )
    SchedulerState.objects.using(using).get_or_create(pk=1)
