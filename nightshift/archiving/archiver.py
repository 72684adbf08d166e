"""Archiving one batch of parent rows, and the rules shared by the process and the actions.

``archive_batch`` runs inside the engine's transaction for the batch. Its steps, in order:

1. read the parents still older than the cut-off, and their children;
2. serialise and compress them (``codec.encode``) and store the chunk;
3. read the stored chunk back from the database, decompress it and check its SHA-256 and its
   row counts — a mismatch raises, and the whole batch rolls back;
4. only then mark the live referrers (archived id and archive, foreign key cleared), delete the
   children and delete the parents.

Since all of it commits or none of it does, a row is never deleted without its verified copy,
and a worker killed at any point leaves either the rows live or the chunk stored — never both,
never neither.
"""

from __future__ import annotations

import datetime
import logging

from dateutil.relativedelta import relativedelta
from django.db import connection, models
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from nightshift.archiving import codec, sql
from nightshift.archiving.models import Archive, ArchiveChunk, ArchivingPolicy
from nightshift.archiving.references import archive_writes
from nightshift.archiving.registry import Entity

logger = logging.getLogger(__name__)


def cutoff_for(months: int, as_of: datetime.date) -> datetime.datetime:
    """The instant before which data is archived: midnight (local time) ``months`` months
    before ``as_of``.

    >>> cutoff_for(12, datetime.date(2026, 2, 28)).date()
    datetime.date(2025, 2, 28)
    """
    day = as_of - relativedelta(months=months)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def minimum_months() -> int:
    return ArchivingPolicy.get().minimum_months


def candidates(entity: Entity, cutoff: datetime.datetime) -> models.QuerySet:
    """The parent rows of ``entity`` created before ``cutoff``."""
    return entity.parents().filter(**{f"{entity.date_field}__lt": cutoff})


def _undeclared_relations(entity: Entity) -> list[models.ForeignObjectRel]:
    """Reverse relations to the parent model that the entity neither archives (children) nor
    keeps as references (referrers): rows behind them would be left dangling, so a batch that
    finds any stops with a message instead."""
    declared = {(c.model_class, c.fk) for c in entity.children} | {
        (r.model_class, r.fk) for r in entity.referrers
    }
    return [
        relation
        for relation in entity.model_class._meta.related_objects
        if not relation.many_to_many
        and (relation.related_model, relation.field.name) not in declared
    ]


def _section(model: type[models.Model], attname: str, ids: list[int]) -> codec.ReadSection:
    """The rows of ``model`` whose ``attname`` is one of ``ids``, as a chunk section."""
    fields = codec.columns(model)
    section = codec.ReadSection(
        model=model._meta.label_lower,
        table=model._meta.db_table,
        fields=[field.attname for field in fields],
        types=[field.get_internal_type() for field in fields],
        rows=[],
    )
    if sql.supported():
        section.lines = sql.json_rows(model, attname, ids)
    else:
        names = section.fields
        rows = model._base_manager.filter(sql.any_of(model, attname, ids)).order_by("pk")
        section.rows = list(rows.values_list(*names))
    return section


def open_archive(
    *, entity: Entity, months: int, cutoff: datetime.datetime, run_number: int | None
) -> Archive:
    """The archive of run ``run_number``, locked for this batch; created by its first batch."""
    from nightshift.runs.models import ProcessRun

    archive = (
        Archive.objects.select_for_update().filter(run_number=run_number).first()
        if run_number is not None
        else None
    )
    if archive is None:
        requested_by = (
            ProcessRun.objects.filter(pk=run_number).values_list("requested_by", flat=True).first()
        )
        archive = Archive.objects.create(
            entity=entity.key,
            months=months,
            cutoff=cutoff,
            run_number=run_number,
            created_by_id=requested_by,
        )
    return archive


def archive_batch(archive: Archive, entity: Entity, ids: list[int]) -> list[int]:
    """Archive the parents ``ids`` (those still candidates) with their children; return the
    ids archived. See the module docstring for the order of the steps."""
    parent = entity.model_class
    pk = parent._meta.pk.attname
    # Only the rows still candidates go (they may have changed since they were selected); they
    # are locked until the batch commits, so the copy is the row that is deleted.
    archived = list(
        candidates(entity, archive.cutoff)
        .filter(sql.any_of(parent, pk, ids))
        .select_for_update()
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not archived:
        return []
    for relation in _undeclared_relations(entity):
        related = relation.related_model
        if related._base_manager.filter(
            sql.any_of(related, relation.field.attname, archived)
        ).exists():
            raise RuntimeError(
                _(
                    "%(model)s rows refer to the %(entity)s being archived, and %(model)s is "
                    "neither archived with them nor kept as a reference; register it on the "
                    "entity."
                )
                % {"model": related._meta.label, "entity": entity.key}
            )
    sections = [_section(parent, pk, archived)]
    for child in entity.children:
        model = child.model_class
        sections.append(_section(model, model._meta.get_field(child.fk).attname, archived))
    sequence = archive.chunk_count + 1
    encoded = codec.encode_sections(
        {"entity": entity.key, "archive": archive.pk, "sequence": sequence}, sections
    )
    chunk = ArchiveChunk.objects.create(
        archive=archive,
        sequence=sequence,
        first_key=archived[0],
        last_key=archived[-1],
        rows=encoded.rows,
        row_count=encoded.row_count,
        uncompressed_bytes=encoded.raw_size,
        compressed_bytes=len(encoded.data),
        sha256=encoded.sha256,
        data=encoded.data,
    )
    # Read back what the database holds, not what was sent to it.
    stored = ArchiveChunk.objects.filter(pk=chunk.pk).values_list("data", flat=True).get()
    codec.verify(stored, sha256=encoded.sha256, rows=encoded.rows)

    with archive_writes():
        for referrer in entity.referrers:
            archived_id, archive_field = referrer.columns
            model = referrer.model_class
            fk = model._meta.get_field(referrer.fk)
            live = model._base_manager.filter(sql.any_of(model, fk.attname, archived))
            if model is parent:
                live = live.exclude(sql.any_of(model, pk, archived))
            live.update(**{archived_id: F(fk.attname), archive_field: archive.pk, fk.attname: None})
    for child in entity.children:
        model = child.model_class
        fk = model._meta.get_field(child.fk).attname
        _delete(model._base_manager.filter(sql.any_of(model, fk, archived)))
    _delete(parent._base_manager.filter(sql.any_of(parent, pk, archived)))

    rows = dict(archive.rows)
    for label, count in encoded.rows.items():
        rows[label] = rows.get(label, 0) + count
    archive.rows = rows
    archive.total_rows += encoded.row_count
    archive.uncompressed_bytes += encoded.raw_size
    archive.compressed_bytes += len(encoded.data)
    archive.chunk_count = sequence
    archive.save(
        update_fields=[
            "rows",
            "total_rows",
            "uncompressed_bytes",
            "compressed_bytes",
            "chunk_count",
        ]
    )
    return archived


def _delete(queryset: models.QuerySet) -> int:
    """Delete without Django's collector: the entity declares every related row, which this
    batch has archived or re-pointed already, so the collector's per-relation queries (and
    its signals, which nothing listens to here) would be pure cost."""
    return queryset._raw_delete(connection.alias)
