"""The export process: the records an exporter selects, written to a CSV or XLSX file.

1. ``candidates`` is the exporter's filtered queryset; the engine numbers it by primary key.
2. Each batch reads its rows in one statement (every cell rendered by the database; on
   PostgreSQL a COPY whose bytes go straight into the chunk, ``nightshift.exports.postgres``)
   and stores them as one ``ExportChunk`` in the batch's transaction: a stop rolls the chunk
   back with the batch, a resumed run writes the rows above its cursor, so each row lands
   exactly once.
3. ``complete`` finishes the file (a CSV header chunk, or a workbook's head and tail chunks
   around its row segments), records the ``ExportFile`` and, when the definition names an
   export directory, writes the file there. It is idempotent: a second call after a crash
   finds the file done.

With log level "errors only" the engine stores no run item per exported row; the run's
``succeeded`` count is the number of rows in the file.
"""

from __future__ import annotations

import datetime
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F, Sum
from django.db.models.functions import Length
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import BaseModel, ConfigDict, Field

from nightshift.exports.base import Kind
from nightshift.exports.files import (
    Packed,
    SheetSegment,
    compress,
    csv_header,
    decompress,
    pack,
    render_csv,
    render_xlsx_rows,
    split_file,
    workbook_ends,
    write_atomically,
    write_workbook,
    zstd_compressor,
)
from nightshift.exports.models import ChunkKind, ExportChunk, ExportFile, FileType
from nightshift.exports.postgres import copy_rows, insert_chunk, rows_in_postgresql
from nightshift.exports.registry import all_exporters, get_exporter
from nightshift.processes.base import (
    ALL_SUCCEEDED,
    Outcome,
    ParameterError,
    Process,
    ProcessFailed,
    RunOutput,
)
from nightshift.processes.registry import register

__all__ = [
    "EXPORT_PROCESS",
    "ExportParameters",
    "ExportProcess",
    "export_root",
    "iter_file",
]

EXPORT_PROCESS = "export"
FETCH_ROWS = 5_000  # rows rendered at a time where Python renders them (SQLite)
TAIL_SEQ = 2**63 - 1  # the last chunk of a workbook (chunks are ordered by seq, keys below)


class ExportParameters(BaseModel):
    """Output settings of an export definition (the manuals' "Output Settings")."""

    model_config = ConfigDict(extra="forbid", title="Data export")

    entity: str = Field(
        title="Entity",
        json_schema_extra={"group": "criteria"},
        description="What to export: contacts, products, vouchers, payment_gateway_requests…",
    )
    filters: dict[str, Any] = Field(
        default_factory=dict,
        title="Filters",
        json_schema_extra={"group": "criteria"},
        description='Field → value, e.g. {"status": "active", "created_at": '
        '"2026-01-01..2026-03-31", "accumulated_purchase_amount": "100.."}. Empty for all.',
    )
    columns: list[str] = Field(
        default_factory=list,
        title="Columns",
        json_schema_extra={"group": "input_settings"},
        description="The columns of the file, in order; empty for all of the entity's.",
    )
    file_type: FileType = Field(
        default=FileType.CSV,
        title="File type",
        json_schema_extra={"group": "input_settings"},
        description="csv or xlsx.",
    )
    export_directory: str = Field(
        default="",
        title="Export directory",
        max_length=300,
        json_schema_extra={"group": "input_settings"},
        description="Also write the file into this directory (relative to the configured "
        "export root); empty to keep it for download only.",
    )


def export_root() -> Path:
    """The directory export directories live under (``NIGHTSHIFT_EXPORT_ROOT``, by default
    ``var/exports``): the manuals' configurable export directory."""
    root = getattr(settings, "NIGHTSHIFT_EXPORT_ROOT", None) or Path(settings.VAR_DIR) / "exports"
    return Path(root).resolve()


def resolve_directory(directory: str) -> Path:
    """The export directory ``directory`` names, inside the export root; ``ValueError`` when it
    would leave it (``..``, an absolute path elsewhere, a symbolic link out)."""
    root = export_root()
    target = (root / directory).resolve()
    if not target.is_relative_to(root):
        raise ValueError(_("The export directory must be inside %(root)s.") % {"root": root})
    return target


def file_name(entity: str, run_number: int, file_type: str) -> str:
    return f"{entity}-{run_number:06d}.{file_type}"


@register
class ExportProcess(Process):
    """Export the records of an entity, filtered, to a CSV or XLSX file."""

    key = EXPORT_PROCESS
    name = gettext_lazy("Data export")
    description = gettext_lazy(
        "Writes the records of an entity (contacts, products, vouchers, payment gateway "
        "requests…) that match the filters to a CSV or XLSX file, downloadable from the run."
    )
    Parameters = ExportParameters
    # A batch costs a transaction, a statement, a chunk and a commit besides its rows. Of
    # 20,000, 50,000 and 100,000 rows a batch, 50,000 exported fastest on the development
    # machine (bench/exports.py, within its noise); rows stream into the chunk, so a batch
    # holds its keys and one compressed chunk (a few megabytes), not its rows.
    batch_size = 50_000

    @classmethod
    def parameter_schema(cls) -> dict[str, Any]:
        schema = super().parameter_schema()
        # The entities are the exporters registered now (other apps may add some).
        schema["properties"]["entity"]["enum"] = [e.key for e in all_exporters()]
        return schema

    @classmethod
    def check(cls, params: ExportParameters) -> None:  # type: ignore[override]
        try:
            exporter = get_exporter(params.entity)
        except LookupError:
            known = ", ".join(e.key for e in all_exporters())
            raise ParameterError(
                {
                    "entity": _("There is no export of “%(entity)s”; choose one of: %(known)s.")
                    % {"entity": params.entity, "known": known}
                }
            ) from None
        errors: dict[str, str] = {}
        for attribute, clean in (
            ("filters", exporter.clean_filters),
            ("columns", exporter.clean_columns),
        ):
            try:
                setattr(params, attribute, clean(getattr(params, attribute)))
            except ParameterError as exc:
                errors.update(exc.errors)
        params.export_directory = params.export_directory.strip()
        if params.export_directory:
            try:
                resolve_directory(params.export_directory)
            except ValueError as exc:
                errors["export_directory"] = str(exc)
        if errors:
            raise ParameterError(errors)

    # -- the engine's hooks -----------------------------------------------------------------

    def candidates(self, params: dict[str, Any], *, as_of: datetime.date):
        return get_exporter(params["entity"]).queryset(params["filters"])

    def _columns(self, params: dict[str, Any]):
        exporter = get_exporter(params["entity"])
        bound = {column.name: column for column in exporter.bound_columns()}
        return exporter, [bound[name] for name in params["columns"]]

    def next_keys(
        self, params: dict[str, Any], *, as_of: datetime.date, after: int, limit: int
    ) -> list[int]:
        # The engine's default, read through the raw cursor: the ORM fetches keys a hundred
        # at a time through its iterator, which showed in the time of a 50,000-key batch. On
        # PostgreSQL the keys come as one array (a third faster than a row each), sorted
        # here: an aggregate's input order is the subquery's only in practice.
        keys = self.candidates(params, as_of=as_of).filter(pk__gt=after).order_by("pk")
        sql, sql_params = _compiled(keys.values_list("pk")[:limit])
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # The statement is the compiled queryset; input is only in its parameters.
                aggregate = f"SELECT array_agg(k.pk) FROM ({sql}) AS k (pk)"  # noqa: S608
                cursor.execute(aggregate, sql_params)
                return sorted(cursor.fetchone()[0] or ())
            cursor.execute(sql, sql_params)
            return [row[0] for row in cursor.fetchall()]

    def process_batch(
        self,
        params: dict[str, Any],
        ids: list[int],
        *,
        as_of: datetime.date,
        run_number: int | None,
    ) -> list[Outcome]:
        if run_number is None:
            raise ProcessFailed(_("An export runs only as a process run."))
        exporter, columns = self._columns(params)
        # The batch's keys are consecutive candidates: a key range selects them with two
        # parameters where a list would send thousands. A record that started matching the
        # filters since the keys were chosen is in the range but not the run's (and one that
        # stopped matching is not in it): then the batch is read again by its keys (rare).
        batch = exporter.queryset(params["filters"]).filter(pk__range=(ids[0], ids[-1]))
        rendered = self._render(params, columns, batch, ids)
        if rendered is None:
            rendered = self._render(params, columns, batch.filter(pk__in_array=ids), None)
        found, rows, packed = rendered
        store_chunk(
            run_id=run_number,
            seq=ids[0],
            rows=rows,
            size=packed.size,
            data=packed.data,
            crc32=packed.crc32,
        )
        if found is None:  # every key of the batch, checked by the database
            return ALL_SUCCEEDED
        missing = _("No longer matches the filters (changed or deleted since it was selected).")
        return [
            Outcome(record_id, True) if record_id in found else Outcome(record_id, False, missing)
            for record_id in ids
        ]

    def _render(self, params: dict[str, Any], columns, batch, ids: list[int] | None):
        """``(found, rows, packed)`` for the records ``batch`` selects: their keys (``None``
        when they are exactly ``ids``), how many, and their rows as the file's bytes, packed
        for their chunk. ``None`` when ``ids`` is given and the records are other keys."""
        xlsx = params["file_type"] == FileType.XLSX
        zone = timezone.get_current_timezone_name() if xlsx else ""
        kinds = [column.kind for column in columns]
        names = [f"xcell{i}" for i in range(len(columns))]
        copy = connection.vendor == "postgresql" and ids is not None
        # COPY writes a number or a date as its cast to text would (the date style is ISO):
        # without the cast the server skips a text copy of every such cell of a CSV.
        typed = (Kind.NUMBER, Kind.DATE) if copy and not xlsx else ()
        cells = batch.annotate(
            xkey=F("pk"),
            **{
                name: column.expression if column.kind in typed else column.cell(zone)
                for name, column in zip(names, columns, strict=True)
            },
        ).values_list("xkey", *names)
        if copy:
            return copy_rows(cells, batch.values_list("pk"), names, kinds, ids, xlsx=xlsx)
        if connection.vendor == "postgresql":
            found, payload = rows_in_postgresql(cells, names, kinds, xlsx=xlsx)
            return found, len(found), pack(payload, xlsx=xlsx)
        found, rows, packed = _render_in_python(cells, kinds, xlsx=xlsx)
        if ids is not None and len(found) == len(ids) and found.issuperset(ids):
            found = None
        elif ids is not None and not found <= set(ids):
            return None
        return found, rows, packed

    def complete(
        self, params: dict[str, Any], *, as_of: datetime.date, run_number: int | None
    ) -> None:
        if run_number is None or ExportFile.objects.filter(run_id=run_number).exists():
            return
        exporter, columns = self._columns(params)
        labels = [column.label for column in columns]
        chunks = ExportChunk.objects.filter(run_id=run_number, kind=ChunkKind.ROWS)
        rows = chunks.aggregate(total=Sum("rows"))["total"] or 0
        if params["file_type"] == FileType.XLSX:
            if chunks.filter(crc32__isnull=True).exists():  # rows written before segments
                size = self._workbook(run_number, exporter.key, labels)
            else:
                size = self._workbook_around(chunks, run_number, exporter.key, labels)
        else:
            # PostgreSQL's COPY ends lines with LF; the header matches the rows.
            header = csv_header(labels, "\n" if connection.vendor == "postgresql" else "\r\n")
            ExportChunk.objects.create(
                run_id=run_number,
                kind=ChunkKind.ROWS,
                seq=0,
                size=len(header),
                data=compress(header),
            )
            size = chunks.aggregate(total=Sum("size"))["total"] or 0
        export = ExportFile.objects.create(
            run_id=run_number,
            entity=exporter.key,
            file_type=params["file_type"],
            file_name=file_name(exporter.key, run_number, params["file_type"]),
            rows=rows,
            size=size,
        )
        if params.get("export_directory"):
            try:
                target = resolve_directory(params["export_directory"]) / export.file_name
                write_atomically(target, iter_file(export))
            except (OSError, ValueError) as exc:
                raise ProcessFailed(
                    _("The file could not be written to the export directory %(dir)s: %(error)s")
                    % {"dir": params["export_directory"], "error": exc}
                ) from None
            export.written_to = str(target)
            export.save(update_fields=["written_to"])

    def _workbook_around(self, chunks, run_number: int, entity: str, labels: list[str]) -> int:
        """Make the row segments a workbook: store its head (first) and tail (last) chunks
        around them, and return its size. Nothing is compressed again."""
        segments = list(
            chunks.order_by("seq").values_list("crc32", "size", Length("data")).iterator()
        )
        head, tail = workbook_ends(sheet_name=entity, labels=labels, segments=segments)
        for seq, part in ((0, head), (TAIL_SEQ, tail)):
            store_chunk(run_id=run_number, seq=seq, size=len(part), data=part)
        return len(head) + sum(segment[2] for segment in segments) + len(tail)

    def _workbook(self, run_number: int, entity: str, labels: list[str]) -> int:
        """The workbook of rows stored before they were segments (zstd-compressed XML): zip
        the row chunks, store the file in parts in place of them, and return its size."""
        rows = ExportChunk.objects.filter(run_id=run_number, kind=ChunkKind.ROWS)
        with tempfile.TemporaryFile() as workbook:
            write_workbook(
                workbook,
                sheet_name=entity,
                labels=labels,
                row_chunks=_chunk_data(rows.order_by("seq"), compressed=True),
            )
            size = workbook.tell()
            workbook.seek(0)
            for index, part in enumerate(split_file(workbook)):
                ExportChunk.objects.create(
                    run_id=run_number, kind=ChunkKind.FILE, seq=index, size=len(part), data=part
                )
        rows.delete()
        return size

    def outputs(self, run: Any) -> list[RunOutput]:
        export = ExportFile.objects.filter(run_id=run.pk).first()
        if export is None:
            return []
        description = _("%(rows)s rows, %(type)s") % {
            "rows": export.rows,
            "type": export.get_file_type_display(),
        }
        if export.written_to:
            description += " · " + _("also written to %(path)s") % {"path": export.written_to}
        return [
            RunOutput(
                name=export.file_name,
                url=reverse("exports:download", args=[run.pk]),
                size=export.size,
                description=description,
            )
        ]


def _compiled(queryset) -> tuple[str, tuple]:
    return queryset.query.get_compiler(using=queryset.db).as_sql()


def _render_in_python(cells, kinds: list[str], *, xlsx: bool) -> tuple[set[int], int, Packed]:
    """The keys of the records ``cells`` (a ``values_list`` of ``xkey`` and the cells) selects,
    how many, and their rows rendered here and packed for their chunk. Rows come through the
    raw cursor (tuples of cell texts, nothing built by Django per row) a block at a time, so
    a batch holds one block of rows, whatever its size."""
    compressor = SheetSegment() if xlsx else zstd_compressor()
    found: set[int] = set()
    frames, size = [], 0
    sql, params = _compiled(cells)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while block := cursor.fetchmany(FETCH_ROWS):
            found.update(row[0] for row in block)
            lines = [row[1:] for row in block]
            payload = render_xlsx_rows(lines, kinds) if xlsx else render_csv(lines)
            size += len(payload)
            frames.append(compressor.compress(payload))
    frames.append(compressor.flush())
    crc32 = compressor.crc32 if xlsx else None
    return found, len(found), Packed(b"".join(frames), size, crc32)


def store_chunk(
    *, run_id: int, seq: int, data: bytes, size: int, rows: int = 0, crc32: int | None = None
) -> None:
    """One row chunk (``ExportChunk``), without a model instance."""
    values = {
        "run_id": run_id,
        "kind": ChunkKind.ROWS,
        "seq": seq,
        "rows": rows,
        "size": size,
        "data": data,
        "crc32": crc32,
    }
    if connection.vendor == "postgresql":
        insert_chunk(ExportChunk, **values)
    else:
        ExportChunk.objects.create(**values)


def _chunk_data(chunks, *, compressed: bool):
    """The data of ``chunks`` one at a time (only their keys are held), decompressed."""
    for pk in list(chunks.values_list("pk", flat=True)):
        data = ExportChunk.objects.filter(pk=pk).values_list("data", flat=True).get()
        yield decompress(data) if compressed else bytes(data)


def iter_file(export: ExportFile):
    """The bytes of a finished export file, streamed chunk by chunk."""
    chunks = ExportChunk.objects.filter(run_id=export.run_id)
    rows = chunks.filter(kind=ChunkKind.ROWS).order_by("seq")
    if export.file_type != FileType.XLSX:
        return _chunk_data(rows, compressed=True)
    parts = chunks.filter(kind=ChunkKind.FILE)
    if parts.exists():  # a workbook finished before row segments
        return _chunk_data(parts.order_by("seq"), compressed=False)
    return _chunk_data(rows, compressed=False)  # head, segments, tail
