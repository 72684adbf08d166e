"""The chunk format: JSON Lines, compressed with zstd, readable without the code that wrote it.

Uncompressed, a chunk is UTF-8 text, one JSON value per line:

1. a header object: ``{"format": "nightshift-archive", "schema_version": 1, "entity": ...,
   "archive": ..., "sequence": ...}``;
2. for each model (the parent model first, then each child model), a section object
   ``{"model": "crm.customerevent", "table": ..., "fields": [...], "types": [...],
   "rows": N}`` naming every column and its Django field type, followed by ``N`` lines, each a
   JSON array of one row's values in the order of ``fields``.

Values are JSON as they are, except dates and times (ISO 8601), decimals (strings, exactly as
stored), UUIDs (strings) and binary data (base64). Foreign keys are stored as the referenced
row's id under the column's name (``contact_id``).
"""

from __future__ import annotations

import base64
import datetime
import decimal
import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import zstandard
from django.db import models

FORMAT = "nightshift-archive"
SCHEMA_VERSION = 1
# zstd level 3 (its default) compresses these repetitive rows about tenfold at hundreds of MB/s;
# higher levels gain a few percent for several times the CPU.
LEVEL = 3


class ChunkError(Exception):
    """A chunk that does not read back as written (digest, count or format)."""


def columns(model: type[models.Model]) -> list[models.Field]:
    return list(model._meta.concrete_fields)


def _default(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    raise TypeError(f"cannot archive a value of type {type(value).__name__}")


_encode = json.JSONEncoder(default=_default, ensure_ascii=False, separators=(",", ":")).encode


@dataclass
class Section:
    model: type[models.Model]
    rows: list[tuple]


@dataclass
class ReadSection:
    model: str
    table: str
    fields: list[str]
    types: list[str]
    rows: list[list[Any]]
    # The rows already as JSON text, one per row (the database serialised them), in which
    # case ``rows`` is not used.
    lines: list[str] | None = None

    @property
    def count(self) -> int:
        return len(self.lines) if self.lines is not None else len(self.rows)


@dataclass(frozen=True)
class Encoded:
    data: bytes  # compressed
    raw_size: int
    sha256: str
    rows: dict[str, int]  # model label → rows

    @property
    def row_count(self) -> int:
        return sum(self.rows.values())


def encode(header: dict[str, Any], sections: list[Section]) -> Encoded:
    """Serialise and compress one chunk."""
    read_sections = []
    for section in sections:
        fields = columns(section.model)
        read_sections.append(
            ReadSection(
                model=section.model._meta.label_lower,
                table=section.model._meta.db_table,
                fields=[field.attname for field in fields],
                types=[field.get_internal_type() for field in fields],
                rows=section.rows,
            )
        )
    return encode_sections(header, read_sections)


def encode_sections(header: dict[str, Any], sections: list[ReadSection]) -> Encoded:
    """Serialise and compress sections as read from a chunk (or built by ``encode``)."""
    lines = [_encode({"format": FORMAT, "schema_version": SCHEMA_VERSION, **header})]
    counts: dict[str, int] = {}
    for section in sections:
        counts[section.model] = section.count
        lines.append(
            _encode(
                {
                    "model": section.model,
                    "table": section.table,
                    "fields": section.fields,
                    "types": section.types,
                    "rows": section.count,
                }
            )
        )
        lines.extend(section.lines if section.lines is not None else map(_encode, section.rows))
    raw = ("\n".join(lines) + "\n").encode("utf-8")
    return Encoded(
        data=zstandard.ZstdCompressor(level=LEVEL).compress(raw),
        raw_size=len(raw),
        sha256=hashlib.sha256(raw).hexdigest(),
        rows=counts,
    )


def decompress(data: bytes | memoryview, *, sha256: str | None = None) -> bytes:
    raw = zstandard.ZstdDecompressor().decompress(bytes(data))
    if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256:
        raise ChunkError("the chunk's SHA-256 does not match the digest stored with it")
    return raw


def read(raw: bytes) -> tuple[dict[str, Any], list[ReadSection]]:
    """Parse an uncompressed chunk into its header and sections, checking every count."""
    lines: Iterator[bytes] = iter(raw.splitlines())
    try:
        header = json.loads(next(lines))
    except (StopIteration, ValueError) as exc:
        raise ChunkError(f"the chunk has no header: {exc}") from None
    if header.get("format") != FORMAT:
        raise ChunkError(f"not a {FORMAT} chunk")
    if header.get("schema_version") != SCHEMA_VERSION:
        raise ChunkError(f"schema version {header.get('schema_version')} is not supported")
    sections = []
    for line in lines:
        meta = json.loads(line)
        rows = [json.loads(row) for _i, row in zip(range(meta["rows"]), lines, strict=False)]
        if len(rows) != meta["rows"]:
            raise ChunkError(
                f"section {meta['model']} announces {meta['rows']} rows but holds {len(rows)}"
            )
        sections.append(
            ReadSection(meta["model"], meta["table"], meta["fields"], meta["types"], rows)
        )
    return header, sections


def count_rows(raw: bytes) -> dict[str, int]:
    """Rows per model of an uncompressed chunk, counted by lines (rows are not parsed)."""
    lines = raw.splitlines()
    found: dict[str, int] = {}
    position = 1  # after the header
    while position < len(lines):
        meta = json.loads(lines[position])
        found[meta["model"]] = len(lines[position + 1 : position + 1 + meta["rows"]])
        position += 1 + meta["rows"]
    return found


def verify(data: bytes | memoryview, *, sha256: str, rows: dict[str, int]) -> None:
    """Decompress a stored chunk and check its digest and its row count per model."""
    found = count_rows(decompress(data, sha256=sha256))
    if found != rows:
        raise ChunkError(f"the chunk holds {found} rows where {rows} were archived")
