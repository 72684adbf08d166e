"""What the PARC agreements process generated, per agreement and visit date, and the summary
e-mail each account manager gets per run; the permission to release blocking notifications."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from nightshift.alerts.choices import SummaryState
from nightshift.core.models import AuditedModel

__all__ = ["AlertsCapability", "ParcSummary", "ParcVisit"]


class AlertsCapability(models.Model):
    """Holds the permissions of the alerts app that belong to no single record."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("release_notifications", _("Can release other users' blocking notifications")),
        ]

    def __str__(self) -> str:
        return "capability"


class ParcSummary(AuditedModel):
    """The summary e-mail of one run to one account manager. Claimed (pending → sending) in a
    transaction of its own before the message is handed to the mail server, so that a crash or
    a second call of the run's ``complete`` never mails a manager twice."""

    run_number = models.BigIntegerField(_("run"), db_index=True)
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    state = models.CharField(
        _("state"), max_length=16, choices=SummaryState, default=SummaryState.PENDING
    )
    email = models.EmailField(_("e-mail"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-run_number", "account_manager"]
        verbose_name = _("PARC summary e-mail")
        verbose_name_plural = _("PARC summary e-mails")
        constraints = [
            models.UniqueConstraint(
                fields=["run_number", "account_manager"],
                name="alerts_parc_summary_once",
                violation_error_message=_("This manager already has a summary for this run."),
            )
        ]

    def __str__(self) -> str:
        return f"#{self.run_number} → {self.account_manager_id}"


class ParcVisit(AuditedModel):
    """One visit of a PARC agreement and the records generated for it. Unique per agreement and
    due date: a run repeated, resumed or run twice never generates a visit twice."""

    agreement = models.ForeignKey(
        "crm.ParcAgreement",
        verbose_name=_("PARC agreement"),
        on_delete=models.CASCADE,
        related_name="visits",
    )
    due_date = models.DateField(_("due date"))
    planned_for = models.DateField(_("planned for"))
    run_number = models.BigIntegerField(_("run"), null=True, blank=True, db_index=True)
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    opportunity = models.ForeignKey(
        "crm.Opportunity", verbose_name=_("opportunity"), on_delete=models.SET_NULL, null=True
    )
    inspection_task = models.ForeignKey(
        "crm.Task",
        verbose_name=_("inspection task"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    follow_up_task = models.ForeignKey(
        "crm.Task",
        verbose_name=_("follow-up task"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    follow_up_action = models.ForeignKey(
        "crm.Action",
        verbose_name=_("follow-up action"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    dispatch = models.ForeignKey(
        "crm.Dispatch", verbose_name=_("dispatch"), on_delete=models.SET_NULL, null=True
    )
    summary = models.ForeignKey(
        ParcSummary,
        verbose_name=_("summary e-mail"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="visits",
    )

    class Meta:
        ordering = ["-due_date", "agreement"]
        verbose_name = _("PARC visit")
        verbose_name_plural = _("PARC visits")
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "due_date"],
                name="alerts_parc_visit_once",
                violation_error_message=_("This visit of the agreement was already generated."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.agreement_id} @ {self.due_date}"
