"""What an export run leaves behind: the chunks of its file and the file's description.

A batch of an export run writes its rows as one ``ExportChunk`` in the batch's own transaction,
so a batch rolled back (a stop) or lost (a worker that died) leaves no rows behind, and a run
resumed above its cursor writes each row exactly once. ``complete()`` then finishes the file:
for CSV the chunks (after a header chunk) *are* the file; for XLSX they are the worksheet's
compressed rows, which a head chunk and a tail chunk (the rest of the zip archive) make a
workbook. Files live in the database, so any web server can serve a file any worker wrote.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from nightshift.runs.models import ProcessRun

__all__ = ["ChunkKind", "ExportChunk", "ExportFile", "FileType"]


class FileType(models.TextChoices):
    CSV = "csv", _("CSV")  # UTF-8 (with BOM, for Excel), comma-separated, RFC 4180 quoting
    XLSX = "xlsx", _("Excel workbook (XLSX)")  # one worksheet, typed cells

    @property
    def content_type(self) -> str:
        if self == FileType.XLSX:
            return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return "text/csv; charset=utf-8"


class ChunkKind(models.TextChoices):
    # One batch's rows: CSV lines zstd-compressed, or worksheet XML as a deflate segment of the
    # workbook (stored as the file holds it); also a CSV's header, a workbook's head and tail.
    ROWS = "rows", _("Rows")
    FILE = "file", _("File part")  # a slice of a workbook finished before segments, as it is


class ExportChunk(models.Model):
    run = models.ForeignKey(ProcessRun, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=ChunkKind)
    # The first record key of the batch (rows; 0 is the CSV header) or the part's index.
    seq = models.BigIntegerField()
    rows = models.PositiveIntegerField(default=0)
    size = models.PositiveBigIntegerField(default=0)  # bytes once decompressed
    data = models.BinaryField()
    # The CRC-32 of a worksheet segment's XML, for the zip directory (empty for other chunks).
    crc32 = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("export chunk")
        verbose_name_plural = _("export chunks")
        constraints = [
            models.UniqueConstraint(fields=["run", "kind", "seq"], name="exports_one_chunk")
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} {self.kind} {self.seq}"


class ExportFile(models.Model):
    """The finished file of an export run (one per run)."""

    run = models.OneToOneField(
        ProcessRun,
        verbose_name=_("process run"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="export_file",
    )
    entity = models.CharField(_("entity"), max_length=100)
    file_type = models.CharField(_("file type"), max_length=8, choices=FileType)
    file_name = models.CharField(_("file name"), max_length=200)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    size = models.PositiveBigIntegerField(_("size in bytes"), default=0)
    written_to = models.CharField(
        _("written to"),
        max_length=500,
        blank=True,
        help_text=_("Where the file was written in the export directory, if one was set."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("export file")
        verbose_name_plural = _("export files")
        ordering = ["-run_id"]

    def __str__(self) -> str:
        return self.file_name

    @property
    def content_type(self) -> str:
        return FileType(self.file_type).content_type
