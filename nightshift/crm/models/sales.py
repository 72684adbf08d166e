"""The sales process: leads, opportunities, and the jobs people do (tasks, dispatches), with
events, actions and PARC agreements that generate work on a schedule."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from nightshift.core.models import AuditedModel
from nightshift.crm.choices import (
    ActionKind,
    JobState,
    LeadState,
    OpportunityStage,
)


class Lead(AuditedModel):
    """A prospect not yet a customer (the manuals' RPH). In the nurture state it receives a drip
    sequence of e-mail templates, one step at a time, until it replies or the sequence ends."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    first_name = models.CharField(_("first name"), max_length=80, blank=True)
    last_name = models.CharField(_("last name"), max_length=80, blank=True)
    company_name = models.CharField(_("company name"), max_length=160, blank=True)
    email = models.EmailField(_("e-mail"), blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    source = models.CharField(_("source"), max_length=80, blank=True)
    state = models.CharField(_("state"), max_length=20, choices=LeadState, default=LeadState.NEW)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
    )
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("converted to contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
    )
    nurture_step = models.PositiveSmallIntegerField(_("nurture step"), default=0)
    nurture_started_at = models.DateTimeField(_("nurture started at"), null=True, blank=True)
    next_email_date = models.DateField(_("next e-mail date"), null=True, blank=True)
    last_email_sent_at = models.DateTimeField(_("last e-mail sent at"), null=True, blank=True)
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [models.Index(fields=["state", "next_email_date"], name="crm_lead_nurture_due")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state=LeadState.NURTURE) | Q(next_email_date__isnull=False),
                name="crm_lead_nurture_has_next_date",
                violation_error_message=_("A lead in nurture needs its next e-mail date."),
            ),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip() or self.company_name
        return f"{self.code} · {name}"


class Opportunity(AuditedModel):
    """A possible sale to a contact, with a reminder that the notifications process picks up."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=160)
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        related_name="opportunities",
    )
    stage = models.CharField(
        _("stage"), max_length=20, choices=OpportunityStage, default=OpportunityStage.PROSPECTING
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, default=0)
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="opportunities",
    )
    reminder_at = models.DateTimeField(_("reminder at"), null=True, blank=True)
    parc_agreement = models.ForeignKey(
        "crm.ParcAgreement",
        verbose_name=_("PARC agreement"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="opportunities",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0),
                name="crm_opportunity_amount_not_negative",
                violation_error_message=_("The amount cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class Job(AuditedModel):
    """What a person must get done by a due date: the common part of tasks and dispatches, the
    two kinds of job the expired-jobs alert watches."""

    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="%(class)s_jobs",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="%(class)s_owned",
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="%(class)s_managed",
    )
    team = models.ForeignKey(
        "core.Team",
        verbose_name=_("team"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="%(class)s_jobs",
    )
    state = models.CharField(_("state"), max_length=20, choices=JobState, default=JobState.OPEN)
    due_at = models.DateTimeField(_("due at"))
    reminder_at = models.DateTimeField(_("reminder at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["due_at"]

    def __str__(self) -> str:
        return self.subject

    def clean(self) -> None:
        if self.reminder_at and self.due_at and self.reminder_at > self.due_at:
            raise ValidationError({"reminder_at": _("The reminder must be before the due date.")})
        if self.state == JobState.DONE and self.completed_at is None:
            raise ValidationError({"completed_at": _("A job done needs its completion date.")})


class Task(Job):
    """A to-do for a user, often a follow-up of an opportunity or a PARC inspection."""

    opportunity = models.ForeignKey(
        Opportunity,
        verbose_name=_("opportunity"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tasks",
    )
    parc_agreement = models.ForeignKey(
        "crm.ParcAgreement",
        verbose_name=_("PARC agreement"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tasks",
    )

    class Meta(Job.Meta):
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [models.Index(fields=["state", "due_at"], name="crm_task_open_due")]


class Dispatch(Job):
    """Work sent to a team in the field (e.g. the PARC visit)."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    parc_agreement = models.ForeignKey(
        "crm.ParcAgreement",
        verbose_name=_("PARC agreement"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="dispatches",
    )

    class Meta(Job.Meta):
        verbose_name = _("dispatch")
        verbose_name_plural = _("dispatches")
        indexes = [models.Index(fields=["state", "due_at"], name="crm_dispatch_open_due")]


class Event(AuditedModel):
    """A calendar event with a contact (meeting, demo, visit)."""

    subject = models.CharField(_("subject"), max_length=200)
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    location = models.CharField(_("location"), max_length=200, blank=True)
    reminder_at = models.DateTimeField(_("reminder at"), null=True, blank=True)

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gte=models.F("starts_at")),
                name="crm_event_ends_after_start",
                violation_error_message=_("An event cannot end before it starts."),
            ),
        ]

    def __str__(self) -> str:
        return self.subject


class Action(AuditedModel):
    """Something done or to do with a contact (call, visit, note), with an optional reminder."""

    kind = models.CharField(_("kind"), max_length=16, choices=ActionKind)
    contact = models.ForeignKey(
        "crm.Contact", verbose_name=_("contact"), on_delete=models.CASCADE, related_name="actions"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="actions",
    )
    description = models.TextField(_("description"), blank=True)
    performed_at = models.DateTimeField(_("performed at"), null=True, blank=True)
    reminder_at = models.DateTimeField(_("reminder at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("action")
        verbose_name_plural = _("actions")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.contact_id}"


class ParcAgreement(AuditedModel):
    """A recurring service agreement: every period it generates an opportunity, an inspection
    task, a follow-up and a dispatch for the visiting team."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        related_name="parc_agreements",
    )
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="parc_agreements",
    )
    visiting_team = models.ForeignKey(
        "core.Team",
        verbose_name=_("visiting team"),
        on_delete=models.PROTECT,
        related_name="parc_agreements",
    )
    visit_every_days = models.PositiveSmallIntegerField(_("visit every (days)"), default=90)
    next_visit_date = models.DateField(_("next visit date"))
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["next_visit_date"]
        verbose_name = _("PARC agreement")
        verbose_name_plural = _("PARC agreements")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="crm_parc_ends_after_start",
                violation_error_message=_("The agreement cannot end before it starts."),
            ),
            models.CheckConstraint(
                condition=Q(visit_every_days__gte=1),
                name="crm_parc_visit_period_positive",
                violation_error_message=_("Visits must be at least one day apart."),
            ),
        ]

    def __str__(self) -> str:
        return self.code
