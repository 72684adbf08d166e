"""E-mail templates, every message sent or received, the suppression list and the nurture
sequences."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nightshift.core.models import AuditedModel


class EmailDirection(models.TextChoices):
    OUTBOUND = "outbound", _("Outbound")  # sent by the CRM or by a user's mailbox
    INBOUND = "inbound", _("Inbound")  # received in a connected mailbox


class EmailTemplate(AuditedModel):
    """A reusable e-mail: subject and bodies with {{ placeholders }} filled from a record."""

    code = models.CharField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    language = models.CharField(_("language"), max_length=10, blank=True)
    subject = models.CharField(_("subject"), max_length=200)
    body_text = models.TextField(_("text body"))
    body_html = models.TextField(_("HTML body"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("e-mail template")
        verbose_name_plural = _("e-mail templates")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Every part must compile on the restricted engine; the error names the part."""
        from django.core.exceptions import ValidationError

        from nightshift.mail.rendering import TemplateSyntaxError, compile_part

        errors = {}
        for field in ("subject", "body_text", "body_html"):
            try:
                compile_part(getattr(self, field) or "", html=field == "body_html")
            except TemplateSyntaxError as exc:
                errors[field] = _("This placeholder text cannot be read: %(error)s") % {
                    "error": exc
                }
        if errors:
            raise ValidationError(errors)


class EmailMessage(AuditedModel):
    """One e-mail, stored once by its Message-ID, linked to the contact or lead it concerns."""

    direction = models.CharField(_("direction"), max_length=10, choices=EmailDirection)
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    in_reply_to = models.CharField(_("In-Reply-To"), max_length=255, blank=True)
    thread_key = models.CharField(_("thread"), max_length=255, db_index=True)
    from_address = models.EmailField(_("from"))
    to_addresses = models.TextField(_("to"))
    cc_addresses = models.TextField(_("cc"), blank=True)
    subject = models.CharField(_("subject"), max_length=400, blank=True)
    body_text = models.TextField(_("text body"), blank=True)
    body_html = models.TextField(_("HTML body"), blank=True)
    sent_from_crm = models.BooleanField(_("sent from the CRM"), default=False)
    template = models.ForeignKey(
        EmailTemplate,
        verbose_name=_("template"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
    )
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="email_messages",
    )
    lead = models.ForeignKey(
        "crm.Lead",
        verbose_name=_("lead"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="email_messages",
    )
    mailbox = models.CharField(_("mailbox"), max_length=200, blank=True)
    sent_at = models.DateTimeField(_("date"))

    class Meta:
        ordering = ["-sent_at"]
        verbose_name = _("e-mail message")
        verbose_name_plural = _("e-mail messages")
        indexes = [
            models.Index(fields=["contact", "sent_at"], name="mail_message_contact"),
            models.Index(fields=["lead", "sent_at"], name="mail_message_lead"),
        ]

    def __str__(self) -> str:
        return self.subject or self.message_id


class SuppressionEntry(AuditedModel):
    """An address the CRM must never mail again; checked before every send."""

    email = models.EmailField(_("e-mail"), unique=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="suppressions",
    )

    class Meta:
        ordering = ["email"]
        verbose_name = _("suppression list entry")
        verbose_name_plural = _("suppression list")
        constraints = [
            models.CheckConstraint(
                condition=Q(email=models.functions.Lower("email")),
                name="mail_suppression_lowercase",
                violation_error_message=_("Suppressed addresses are stored in lower case."),
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)


class LoggedError(models.Model):
    """An ERROR (or worse) record logged by the application — a server exception, a run that
    crashed — kept for the bug detector's daily report. Written by
    ``nightshift.mail.logging.DatabaseErrorHandler``."""

    logged_at = models.DateTimeField(_("logged at"), default=timezone.now, db_index=True)
    level = models.CharField(_("level"), max_length=10)
    logger_name = models.CharField(_("logger"), max_length=200)
    message = models.TextField(_("message"))
    traceback = models.TextField(_("traceback"), blank=True)
    where = models.CharField(_("where"), max_length=300, blank=True)
    host = models.CharField(_("host"), max_length=200, blank=True)
    pid = models.PositiveIntegerField(_("process id"), null=True, blank=True)

    class Meta:
        ordering = ["-logged_at"]
        verbose_name = _("logged error")
        verbose_name_plural = _("logged errors")

    def __str__(self) -> str:
        return f"{self.logged_at:%Y-%m-%d %H:%M} {self.logger_name}: {self.message[:80]}"


class JobKind(models.TextChoices):
    TASK = "task", _("Task")  # crm.Task
    DISPATCH = "dispatch", _("Dispatch")  # crm.Dispatch


class JobAlert(models.Model):
    """One lateness alert sent for one job: the expired jobs process alerts a job once per
    lateness level, so this row is what keeps the next runs quiet."""

    job_kind = models.CharField(_("job kind"), max_length=10, choices=JobKind)
    job_id = models.BigIntegerField(_("job"))
    level = models.PositiveSmallIntegerField(_("lateness level"))
    hours_late = models.DecimalField(_("hours late"), max_digits=10, decimal_places=2)
    alerted_at = models.DateTimeField(_("alerted at"), default=timezone.now)
    recipients = models.TextField(_("recipients"), blank=True)
    process_run_number = models.PositiveBigIntegerField(_("process run"), null=True, blank=True)

    class Meta:
        ordering = ["-alerted_at"]
        verbose_name = _("job lateness alert")
        verbose_name_plural = _("job lateness alerts")
        constraints = [
            models.UniqueConstraint(
                fields=["job_kind", "job_id", "level"], name="mail_job_alert_once_per_level"
            )
        ]

    def __str__(self) -> str:
        return f"{self.job_kind} {self.job_id} level {self.level}"


class NurtureSequence(AuditedModel):
    """A drip sequence of e-mail templates sent to leads in the nurture state (the manuals'
    "Nurture P2"); the lead nurture process follows the sequence its definition names."""

    code = models.CharField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    active = models.BooleanField(_("active"), default=True)
    close_after_days = models.PositiveSmallIntegerField(
        _("days to wait for a reply after the last step"),
        default=7,
        help_text=_(
            "A lead that has not replied this many days after the last e-mail is closed for "
            "inactivity."
        ),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("nurture sequence")
        verbose_name_plural = _("nurture sequences")

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class NurtureStep(AuditedModel):
    """One e-mail of a nurture sequence. ``delay_days`` counts from the previous step's e-mail
    (the first step: from the day the lead joined the sequence), so the gap between two e-mails
    is what the operator sets, whatever the day the previous one actually went out."""

    sequence = models.ForeignKey(
        NurtureSequence,
        verbose_name=_("sequence"),
        on_delete=models.CASCADE,
        related_name="steps",
    )
    position = models.PositiveSmallIntegerField(_("position"))
    delay_days = models.PositiveSmallIntegerField(
        _("days after the previous e-mail"),
        help_text=_(
            "The first step counts from the day the lead joined the sequence (0: that same "
            "day); the others from the previous e-mail, at least 1 day."
        ),
    )
    template = models.ForeignKey(
        EmailTemplate,
        verbose_name=_("e-mail template"),
        on_delete=models.PROTECT,
        related_name="nurture_steps",
    )

    class Meta:
        ordering = ["sequence", "position"]
        verbose_name = _("nurture step")
        verbose_name_plural = _("nurture steps")
        constraints = [
            models.UniqueConstraint(
                fields=["sequence", "position"],
                name="mail_nurture_step_position_once",
                violation_error_message=_("The sequence already has a step in this position."),
            ),
            models.CheckConstraint(
                condition=Q(position__gte=1),
                name="mail_nurture_step_position_from_one",
                violation_error_message=_("Positions start at 1."),
            ),
            # A step after the first waits at least a day: re-running the process the same day
            # never sends two steps to one lead.
            models.CheckConstraint(
                condition=Q(position=1) | Q(delay_days__gte=1),
                name="mail_nurture_step_waits_a_day",
                violation_error_message=_(
                    "Only the first step may be sent the day the lead joins; later steps wait "
                    "at least 1 day after the previous e-mail."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sequence.code} #{self.position}"
