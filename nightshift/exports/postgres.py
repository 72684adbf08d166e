"""A batch's rows as file bytes made by PostgreSQL: CSV lines or worksheet XML, streamed by
``COPY … TO STDOUT`` straight into the chunk's compressor (a zstd frame for CSV, a segment of
the worksheet's deflate stream for XLSX).

Python never sees a cell: the database renders each one (``nightshift.exports.base``), COPY
quotes the CSV (or, for XLSX, the query itself writes each row's ``<row>`` element), and the
bytes go from the socket to the compressor a megabyte at a time, compressed in a helper thread
while the server renders the next rows. Compared with lines concatenated in SQL and fetched as
one value, the server spends about 40 % less time and Python holds no batch-sized text.

COPY returns no keys, yet the engine needs to know which of the batch's records are in the
file. The statement therefore ends with one more line, computed from the same snapshot as the
rows: whether the keys it exported are exactly the batch's. When they are not (a record changed
between the choice of the batch's keys and its export, which is rare), the caller renders the
batch again by its keys with ``rows_in_postgresql``, which returns the keys with the rows.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import psycopg
from django.db import connection

from nightshift.exports.base import Kind
from nightshift.exports.files import (
    DATE_STYLE,
    DATETIME_STYLE,
    Packed,
    SheetSegment,
    zstd_compressor,
)

__all__ = ["copy_rows", "insert_chunk", "rows_in_postgresql"]

COPY_BUFFER = 1 << 20  # bytes handed to the compressor at a time: few calls, little memory
PACK_QUEUE = 2  # blocks waiting for the compressor at most: memory stays a few megabytes
KEYS_MATCH = "keys-match"  # the last COPY line when the rows are exactly the batch's keys
KEYS_DIFFER = "keys-differ"

# XML 1.0 cannot hold these even escaped. They are dropped from the bytes (a control character
# is one byte in UTF-8, never part of another character's), not by the query: translate() on
# every text cell cost the database more than all the rest of the row's XML.
_XML_INVALID_BYTES = bytes([*range(1, 9), 11, 12, *range(14, 32)])  # NUL is never in text
_XML_INVALID_CHARACTERS = ("\ufffe".encode(), "\uffff".encode())
# XLSX rows travel as COPY's CSV with a quote and a delimiter that are invalid XML, dropped as
# such: CR and LF are written as character references by the query, so COPY quotes a row only
# when it holds one of those two, and dropping them leaves exactly the row. One row a line.
_XLSX_COPY_OPTIONS = "FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01'"


def _compiled(queryset) -> tuple[str, tuple]:
    return queryset.query.get_compiler(using=queryset.db).as_sql()


def _xml_text(cell: str) -> str:
    """SQL escaping the text ``cell`` for an XML text node (``_xml_valid`` then drops the
    characters XML forbids)."""
    sql = cell
    for char, reference in (("'&'", "'&amp;'"), ("'<'", "'&lt;'"), ("'>'", "'&gt;'")):
        sql = f"replace({sql}, {char}, {reference})"
    return f"replace(replace({sql}, chr(13), '&#13;'), chr(10), '&#10;')"


def xlsx_row_sql(cells: Sequence[str], kinds: Sequence[str]) -> str:
    """SQL for a row's ``<row>`` element, the same markup as ``files.render_xlsx_rows``: each
    cell read once (a NULL or empty cell is ``<c/>``)."""
    parts = []
    for cell, kind in zip(cells, kinds, strict=True):
        if kind == Kind.NUMBER:
            parts.append(f"COALESCE('<c><v>' || {cell} || '</v></c>', '<c/>')")
        elif kind == Kind.BOOLEAN:
            parts.append(
                f"CASE {cell} WHEN 'true' THEN '<c t=\"b\"><v>1</v></c>' "
                f"WHEN 'false' THEN '<c t=\"b\"><v>0</v></c>' ELSE '<c/>' END"
            )
        elif kind in (Kind.DATE, Kind.DATETIME):
            style = DATE_STYLE if kind == Kind.DATE else DATETIME_STYLE
            parts.append(f"COALESCE('<c s=\"{style}\"><v>' || {cell} || '</v></c>', '<c/>')")
        else:
            parts.append(
                'COALESCE(\'<c t="inlineStr"><is><t xml:space="preserve">\' || '
                f"NULLIF({_xml_text(cell)}, '') || '</t></is></c>', '<c/>')"
            )
    return "'<row>' || " + " || ".join([*parts, "'</row>'"])


def csv_line_sql(cells: Sequence[str], kinds: Sequence[str]) -> str:
    """SQL for a row's CSV line without its LF: text cells always quoted (RFC 4180 allows it,
    and it is what COPY's FORCE_QUOTE writes), other cells never need quotes."""
    parts = []
    for cell, kind in zip(cells, kinds, strict=True):
        if kind in (Kind.TEXT, Kind.CHOICE):
            parts.append(f"""'"' || replace(COALESCE({cell}, ''), '"', '""') || '"'""")
        else:
            parts.append(f"COALESCE({cell}, '')")
    return " || ',' || ".join(parts) if parts else "''"


def _xml_valid(data: bytes) -> bytes:
    """Worksheet XML without the characters XML 1.0 forbids."""
    data = data.translate(None, _XML_INVALID_BYTES)
    for character in _XML_INVALID_CHARACTERS:
        if character in data:
            data = data.replace(character, b"")
    return data


def _settings(cursor) -> None:
    """Settings for the rest of the batch's transaction: dates written as ISO 8601 by a cast
    (``AsCell``; cheaper than to_char), and no parallel workers, without which a COPY's
    lines (a UNION ALL) come in the order written, the check line last."""
    cursor.execute(
        "SELECT set_config('datestyle', 'ISO', true), "
        "set_config('max_parallel_workers_per_gather', '0', true)"
    )


def _cells(names: Sequence[str]) -> list[str]:
    return [f"t.{connection.ops.quote_name(name)}" for name in names]


def copy_rows(
    cells, keys, names: Sequence[str], kinds: Sequence[str], ids: list[int], *, xlsx: bool
):
    """The rows of ``cells`` (a ``values_list`` of ``xkey`` and the cell columns ``names``)
    packed for their chunk (CSV lines as one zstd frame, worksheet XML as one segment):
    ``(None, rows, packed)`` when the records are exactly the keys ``ids`` (``keys``, a
    ``values_list("pk")`` of the same records, is how the database checks it), else ``None``."""
    sql, params = _compiled(cells.order_by())
    keys_sql, keys_params = _compiled(keys.order_by())
    quote = connection.ops.quote_name
    text = [
        name for name, kind in zip(names, kinds, strict=True) if kind in (Kind.TEXT, Kind.CHOICE)
    ]
    if xlsx:
        columns = f"{xlsx_row_sql(_cells(names), kinds)} AS xrow"
        blanks, options = "", _XLSX_COPY_OPTIONS
    else:
        columns = ", ".join(
            f"COALESCE({cell}, '') AS {quote(name)}" if name in text else f"{cell} AS {quote(name)}"
            for cell, name in zip(_cells(names), names, strict=True)
        )
        blanks = ", NULL" * (len(names) - 1)
        options = "FORMAT csv"
        if text:
            options += f", FORCE_QUOTE ({', '.join(quote(name) for name in text)})"
    # The exporter's declaration and a batch's keys make every part of the statement; input
    # reaches it only as parameters (merged by the driver: COPY takes none of its own). The
    # last line, read in the same snapshot as the rows, says whether they are the batch.
    statement = (
        f"COPY ((SELECT {columns} FROM ({sql}) AS t ORDER BY t.xkey) UNION ALL "  # noqa: S608
        f"(SELECT CASE WHEN string_agg(k.id::text, ',') = %s THEN '{KEYS_MATCH}' "
        f"ELSE '{KEYS_DIFFER}' END{blanks} FROM ({keys_sql} ORDER BY 1) AS k (id))) "
        f"TO STDOUT ({options})"
    )
    pending: list = []
    buffered = rows = 0
    last = None
    with _Packer(xlsx=xlsx) as packer, connection.cursor() as cursor:
        _settings(cursor)
        with cursor.cursor.copy(
            statement, (*params, ",".join(map(str, ids)), *keys_params)
        ) as copy:
            for line in copy:
                if last is not None:
                    pending.append(last)
                    buffered += len(last)
                    if buffered >= COPY_BUFFER:
                        packer.add(pending)
                        rows += len(pending)
                        pending.clear()
                        buffered = 0
                last = line
        if last is None or bytes(last).strip(b'",\n') != KEYS_MATCH.encode():
            return None
        packer.add(pending)
        return None, rows + len(pending), packer.close()


class _Packer:
    """Packs a batch's bytes for its chunk a block at a time in a helper thread, while this
    one reads the next block from the socket. Compressing (zstd for CSV lines, deflate for
    worksheet XML) costs about as much as the server spends rendering the rows, and zstd and
    zlib let other threads run while they work: on two cores reading and packing overlap."""

    def __init__(self, *, xlsx: bool) -> None:
        self._xlsx = xlsx
        self._compressor = SheetSegment() if xlsx else zstd_compressor()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-pack")
        self._queued: deque = deque()
        self._frames: list[bytes] = []
        self._size = 0

    def __enter__(self) -> _Packer:
        return self

    def __exit__(self, *exc_info) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _pack(self, data: bytes) -> bytes:  # in the helper thread, one block after another
        if self._xlsx:
            data = _xml_valid(data)
        self._size += len(data)
        return self._compressor.compress(data)

    def add(self, lines: list) -> None:
        """Queue ``lines`` (COPY's buffers) to be packed; waits while PACK_QUEUE blocks are."""
        while len(self._queued) >= PACK_QUEUE:
            self._frames.append(self._queued.popleft().result())
        self._queued.append(self._pool.submit(self._pack, b"".join(lines)))

    def close(self) -> Packed:
        """Everything queued, packed: one zstd frame or one worksheet segment."""
        while self._queued:
            self._frames.append(self._queued.popleft().result())
        self._frames.append(self._compressor.flush())
        crc32 = self._compressor.crc32 if self._xlsx else None
        return Packed(b"".join(self._frames), self._size, crc32)


def rows_in_postgresql(
    cells, names: Sequence[str], kinds: Sequence[str], *, xlsx: bool
) -> tuple[set[int], bytes]:
    """The keys of the records ``cells`` selects and their rows as the file's bytes, both
    from one statement: the way to know which records a batch exported when COPY's check
    says they are not the batch's keys."""
    sql, params = _compiled(cells.order_by())
    row = xlsx_row_sql(_cells(names), kinds) if xlsx else csv_line_sql(_cells(names), kinds)
    # Aliases and the statement come from the exporter's declaration, never from input.
    statement = (
        f"SELECT string_agg({row}, chr(10) ORDER BY t.xkey), array_agg(t.xkey) "  # noqa: S608
        f"FROM ({sql}) AS t"
    )
    with connection.cursor() as cursor:
        _settings(cursor)
        cursor.execute(statement, params)
        text, keys = cursor.fetchone()
    if text is None:
        return set(), b""
    data = (text + "\n").encode("utf-8")
    return set(keys), _xml_valid(data) if xlsx else data


def insert_chunk(model, **values) -> None:
    """Insert one row of ``model`` (an export chunk) with its bytes sent as a binary parameter.
    Django's cursor binds parameters into the SQL text, where a megabyte of chunk becomes two
    megabytes of hex for the server to parse back: that cost more than a tenth of a batch."""
    quote = connection.ops.quote_name
    columns = [model._meta.get_field(name).column for name in values]
    statement = (
        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608 — names from the model
        f"({', '.join(quote(column) for column in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(statement, list(values.values()))
