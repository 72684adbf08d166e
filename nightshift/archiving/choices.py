from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ArchiveState(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")  # its run is still archiving chunks
    COMPLETED = "completed", _("Completed")  # its run archived every candidate
    INCOMPLETE = "incomplete", _("Incomplete")  # its run failed or was stopped part-way
    RESTORED = "restored", _("Restored")  # every row is back in the live tables
    PARTLY_RESTORED = "partly_restored", _("Partly restored")  # restored but for conflicts
    DELETED = "deleted", _("Deleted")  # its chunks were deleted for good


class AuditAction(models.TextChoices):
    SUBMIT = "submit", _("Archive run submitted")  # a definition handed to the scheduler
    DOWNLOAD = "download", _("Archive downloaded")
    DELETE = "delete", _("Archive deleted")
    RESTORE = "restore", _("Archive restored")
    PASSWORD_REFUSED = "password_refused", _("Wrong password")  # counted for rate limiting
    PERMISSION_REFUSED = "permission_refused", _("Permission refused")
