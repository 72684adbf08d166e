"""What the account routines keep of their own: the accounts each movement monitoring run
found without movement (the list the notified users receive)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class UnmovedAccount(models.Model):
    """An account a movement monitoring run found without movement in its period, and whether
    the run transferred it. Kept per run, whatever the run's log level, so that the list sent
    to the notified users is complete."""

    run_number = models.PositiveBigIntegerField(_("run"))
    contact = models.ForeignKey(
        "crm.Contact", verbose_name=_("contact"), on_delete=models.CASCADE, related_name="+"
    )
    previous_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager before the run"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    transferred_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("transferred to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["run_number", "contact"]
        verbose_name = _("account without movement")
        verbose_name_plural = _("accounts without movement")
        constraints = [
            models.UniqueConstraint(
                fields=["run_number", "contact"], name="erp_unmoved_once_per_run"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.run_number}: {self.contact_id}"
