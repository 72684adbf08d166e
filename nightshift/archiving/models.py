"""Archives kept in the database: one ``Archive`` per archive run, its rows in compressed
``ArchiveChunk`` rows, the organisation's archiving policy and the audit trail of the
password-protected actions."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nightshift.archiving.choices import ArchiveState, AuditAction

__all__ = ["Archive", "ArchiveAuditEntry", "ArchiveChunk", "ArchivingPolicy"]

# The manual's minimum (and default) age of archived data, in months.
DEFAULT_MINIMUM_MONTHS = 12


class ArchivingPolicy(models.Model):
    """The organisation's one archiving policy row, changed by administrators in the admin."""

    minimum_months = models.PositiveSmallIntegerField(
        _("minimum age of archived data (months)"),
        default=DEFAULT_MINIMUM_MONTHS,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Archive run definitions cannot archive data younger than this. The manual's "
            "minimum is 12 months; lower it only if the organisation has agreed to."
        ),
    )
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("archiving policy")
        verbose_name_plural = _("archiving policy")

    def __str__(self) -> str:
        return str(_("Minimum %(months)s months") % {"months": self.minimum_months})

    @classmethod
    def get(cls) -> ArchivingPolicy:
        policy, _created = cls.objects.get_or_create(pk=1)
        return policy


class Archive(models.Model):
    """What one archive run archived: the entity, the cut-off, rows per model, sizes.

    ``run_number`` is a plain number rather than a foreign key: process run logs are
    themselves archivable, and an archive outlives the run that made it."""

    entity = models.CharField(_("data archiving entity"), max_length=60, db_index=True)
    months = models.PositiveSmallIntegerField(_("archive data created X months ago"))
    cutoff = models.DateTimeField(_("cut-off date"))
    run_number = models.PositiveIntegerField(_("process run"), unique=True, null=True)
    state = models.CharField(
        _("state"), max_length=16, choices=ArchiveState, default=ArchiveState.IN_PROGRESS
    )
    rows = models.JSONField(_("rows per entity"), default=dict)
    total_rows = models.PositiveBigIntegerField(_("rows"), default=0)
    uncompressed_bytes = models.PositiveBigIntegerField(_("uncompressed size"), default=0)
    compressed_bytes = models.PositiveBigIntegerField(_("compressed size"), default=0)
    chunk_count = models.PositiveIntegerField(_("chunks"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("archived by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("archived at"), default=timezone.now, db_index=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("deleted by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    restore_report = models.JSONField(_("restore conflicts"), default=list, blank=True)

    class Meta:
        verbose_name = _("archive")
        verbose_name_plural = _("archives")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.entity}"

    @classmethod
    def settle(cls) -> int:
        """Mark *incomplete* the archives still *in progress* whose run ended without
        completing (failed or stopped): their chunks are kept, and can be downloaded, restored
        or deleted. One UPDATE; called before archives are listed or acted on."""
        from nightshift.runs.models import ProcessRun, RunState

        active = ProcessRun.objects.filter(state__in=RunState.active()).values("pk")
        return (
            cls.objects.filter(state=ArchiveState.IN_PROGRESS)
            .exclude(run_number__in=active)
            .update(state=ArchiveState.INCOMPLETE, ended_at=timezone.now())
        )

    @property
    def is_deleted(self) -> bool:
        return self.state == ArchiveState.DELETED

    @property
    def ratio(self) -> float | None:
        """Uncompressed size over compressed size (8.0 = eight times smaller)."""
        if not self.compressed_bytes:
            return None
        return round(self.uncompressed_bytes / self.compressed_bytes, 2)

    @property
    def entity_label(self) -> str:
        from nightshift.archiving.registry import get_entity

        try:
            return str(get_entity(self.entity).label)
        except LookupError:
            return self.entity

    def summary(self) -> dict:
        """What the API and CLI print for an archive."""
        return {
            "id": self.pk,
            "entity": self.entity,
            "months": self.months,
            "cutoff": self.cutoff.isoformat(),
            "run": self.run_number,
            "state": self.state,
            "rows": self.rows,
            "total_rows": self.total_rows,
            "uncompressed_bytes": self.uncompressed_bytes,
            "compressed_bytes": self.compressed_bytes,
            "ratio": self.ratio,
            "chunks": self.chunk_count,
            "archived_by": self.created_by.get_username() if self.created_by else None,
            "archived_at": self.created_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "deleted": self.is_deleted,
            "deleted_at": self.deleted_at.isoformat() if self.deleted_at else None,
            "restore_conflicts": len(self.restore_report),
        }


class ArchiveChunk(models.Model):
    """One batch of the run: its parents and their children as zstd-compressed JSON Lines.

    ``sha256`` is the digest of the uncompressed bytes; ``rows`` counts rows per model. The
    format is described in ``nightshift.archiving.codec``."""

    archive = models.ForeignKey(Archive, on_delete=models.CASCADE, related_name="chunks")
    sequence = models.PositiveIntegerField(_("sequence"))
    first_key = models.BigIntegerField(_("first key"))
    last_key = models.BigIntegerField(_("last key"))
    rows = models.JSONField(_("rows per model"))
    row_count = models.PositiveIntegerField(_("rows"))
    uncompressed_bytes = models.PositiveIntegerField(_("uncompressed size"))
    compressed_bytes = models.PositiveIntegerField(_("compressed size"))
    sha256 = models.CharField(_("SHA-256 of the uncompressed bytes"), max_length=64)
    data = models.BinaryField(_("data"))
    restored = models.BooleanField(_("restored"), default=False)

    class Meta:
        verbose_name = _("archive chunk")
        verbose_name_plural = _("archive chunks")
        ordering = ["archive", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["archive", "sequence"], name="archiving_chunk_once")
        ]

    def __str__(self) -> str:
        return f"{self.archive_id}:{self.sequence}"


class ArchiveAuditEntry(models.Model):
    """Who did what to which archive, including refused passwords (counted for the limit)."""

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE
    )
    action = models.CharField(_("action"), max_length=20, choices=AuditAction)
    archive = models.ForeignKey(
        Archive,
        verbose_name=_("archive"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit",
    )
    channel = models.CharField(_("channel"), max_length=10, blank=True)  # web, api, cli
    detail = models.TextField(_("detail"), blank=True)

    class Meta:
        verbose_name = _("archive audit entry")
        verbose_name_plural = _("archive audit trail")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["user", "action", "at"], name="archiving_audit_user")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action}"
