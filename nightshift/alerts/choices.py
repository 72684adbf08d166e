"""States of the records the alerts app keeps."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SummaryState(models.TextChoices):
    PENDING = "pending", _("Pending")  # recorded by the run, not handed to the mail server yet
    SENDING = "sending", _("Sending")  # claimed by a sender; never sent twice from here
    SENT = "sent", _("Sent")  # accepted by the mail server
    FAILED = "failed", _("Failed")  # the mail server refused it, or the manager has no e-mail


class FollowUpKind(models.TextChoices):
    TASK = "task", _("Task")  # a follow-up task for the account manager
    ACTION = "action", _("Action")  # a call action with a reminder for the account manager
