"""Uploaded files and the imports made from them.

An ``ImportFile`` is a file uploaded to be imported (kept on the default storage, under
``MEDIA_ROOT/imports/``, i.e. ``var/media/imports/``) or found in a watched folder (read where
it lies). A ``DataImport`` is one file imported by one process run: its counts and its error
file. A file import run has one; a watched-folder run has one per file it picked up.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from nightshift.core.models import AuditedModel

__all__ = ["DataImport", "ImportFile", "ImportState"]


class ImportState(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")  # waiting in the queue or being imported
    COMPLETED = "completed", _("Completed")  # imported; some rows may have been rejected
    FAILED = "failed", _("Failed")  # the file itself could not be imported


class ImportFile(AuditedModel):
    """A file to import: uploaded (``file``) or found in a watched folder (``source_path``).
    ``layout`` is what reading it found (format, encoding, delimiter, sheets); ``problem``
    says why it cannot be read, when it cannot."""

    file = models.FileField(_("file"), upload_to="imports/uploads/%Y/%m/", blank=True)
    name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    entity = models.CharField(_("entity"), max_length=60, blank=True)
    layout = models.JSONField(_("layout"), default=dict, blank=True)
    problem = models.TextField(_("problem"), blank=True)
    source_path = models.CharField(_("found at"), max_length=1000, blank=True, db_index=True)
    state = models.CharField(
        _("state"), max_length=12, choices=ImportState, default=ImportState.IN_PROGRESS
    )

    class Meta:
        ordering = ["-pk"]
        verbose_name = _("import file")
        verbose_name_plural = _("import files")

    def __str__(self) -> str:
        return self.name

    @property
    def path(self) -> str:
        """Where the file's bytes are on this machine."""
        return self.file.path if self.file else self.source_path


class DataImport(models.Model):
    """One file imported by one run: what happened to its rows. ``created + updated +
    rejected`` equals the rows of the file once it is completed."""

    run = models.ForeignKey(
        "runs.ProcessRun",
        verbose_name=_("process run"),
        on_delete=models.CASCADE,
        related_name="imports",
    )
    upload = models.ForeignKey(
        ImportFile, verbose_name=_("file"), on_delete=models.PROTECT, related_name="imports"
    )
    entity = models.CharField(_("entity"), max_length=60)
    state = models.CharField(
        _("state"), max_length=12, choices=ImportState, default=ImportState.IN_PROGRESS
    )
    rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    error_file = models.FileField(_("error file"), upload_to="imports/errors/", blank=True)
    message = models.TextField(_("message"), blank=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name = _("data import")
        verbose_name_plural = _("data imports")
        constraints = [
            models.UniqueConstraint(fields=["run", "upload"], name="imports_file_once_per_run")
        ]

    def __str__(self) -> str:
        return f"{self.entity} #{self.run_id}"
