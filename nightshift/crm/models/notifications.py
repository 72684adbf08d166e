"""Dashboard notifications, blocking and non-blocking, created by the notifications process."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from nightshift.core.models import AuditedModel
from nightshift.crm.choices import NotificationKind, NotificationState


class Notification(AuditedModel):
    """Shown on the user's dashboard at login. A blocking one comes from the sales process
    rules: until it is attended to (or an administrator releases it) the user may only reach the
    notifications page, and past its deadline the user is signed out."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=NotificationKind)
    state = models.CharField(
        _("state"), max_length=16, choices=NotificationState, default=NotificationState.OPEN
    )
    title = models.CharField(_("title"), max_length=200)
    message = models.TextField(_("message"), blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    # What the notification is about, e.g. "task:42" or "invoice:INV-1:reminder"; one open
    # notification per user and subject, so a daily process never stacks duplicates.
    subject_key = models.CharField(_("subject"), max_length=120)
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    attended_at = models.DateTimeField(_("attended at"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("released by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["user", "state"], name="crm_notification_user_open")]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "subject_key"],
                condition=Q(state=NotificationState.OPEN),
                name="crm_notification_open_once",
                violation_error_message=_("The user already has this notification open."),
            ),
            models.CheckConstraint(
                condition=~Q(kind=NotificationKind.BLOCKING) | Q(deadline__isnull=False),
                name="crm_notification_blocking_has_deadline",
                violation_error_message=_("A blocking notification needs a deadline."),
            ),
        ]

    def __str__(self) -> str:
        return self.title
