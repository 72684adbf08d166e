"""Rendering rows into file chunks, finishing files and reading them back, all streaming.

Rows arrive as tuples of cell texts (``None`` for an empty cell) straight from the database
cursor (see ``nightshift.exports.base``), or on PostgreSQL as the file's bytes themselves
(``nightshift.exports.postgres``). A CSV chunk is those rows as CSV lines, zstd-compressed; an
XLSX chunk is the same rows as SpreadsheetML ``<row>`` elements with typed cells, compressed as
one *segment* of the worksheet's deflate stream (``SheetSegment``). A workbook is then the
chunks between a head and a tail (``workbook_ends``): the other parts of the archive and the
worksheet's first and last bytes before, the zip directory after. Finishing a workbook writes
those two and compresses nothing again, and nothing ever holds more than one chunk in memory,
whatever the row count.

Why not xlsxwriter here: with ``constant_memory`` it writes about 9,000 rows/s of a 29-column
contact (one Python call per cell, and a second pass through its own temporary file), below the
30,000 rows/s target; writing the worksheet XML directly is several times faster (bench/exports.py
measures both). The workbook is minimal and standard: inline strings, a bold header row frozen at
the top, ISO date and date-time formats.
"""

from __future__ import annotations

import csv
import datetime
import io
import os
import re
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple
from xml.sax.saxutils import escape

import zstandard
from django.utils import timezone

from nightshift.exports.base import Kind

__all__ = [
    "Packed",
    "SheetSegment",
    "compress",
    "csv_header",
    "decompress",
    "pack",
    "render_csv",
    "render_xlsx_rows",
    "workbook_ends",
    "write_workbook",
    "zstd_compressor",
]

CSV_BOM = "\ufeff"  # Excel reads a UTF-8 CSV as UTF-8 only when it starts with this mark
FILE_PART_SIZE = 4 * 1024 * 1024  # bytes per stored part of a finished workbook
ZSTD_LEVEL = 3  # fast enough not to show in the batch time, and shrinks CSV about 5 times
ZIP_LEVEL = 1  # the worksheet dominates the time; level 1 costs a fifth of level 6 for ~10 % size
SHEET_PATH = "xl/worksheets/sheet1.xml"
EXCEL_EPOCH = datetime.date(1899, 12, 30).toordinal()  # serial 0 of the 1900 date system

# XML 1.0 cannot hold most control characters even escaped: they are dropped, once per chunk
# (the markup around the cells has none); a CR is kept as a reference, or a parser reads LF.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TEXT_CELL = '<c t="inlineStr"><is><t xml:space="preserve">%s</t></is></c>'
_HEADER_CELL = '<c t="inlineStr" s="3"><is><t xml:space="preserve">%s</t></is></c>'
_EMPTY_CELL = "<c/>"
DATE_STYLE, DATETIME_STYLE = 1, 2


def compress(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(data)


def zstd_compressor():
    """A streaming zstd compression object (``compress(data)``, then ``flush()``): one frame
    made of many pieces, which ``decompress`` reads back."""
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compressobj()


def decompress(data: bytes | memoryview) -> bytes:
    # A streamed frame (PostgreSQL's COPY) does not state its size up front; this reads both.
    return zstandard.ZstdDecompressor().decompressobj().decompress(bytes(data))


# ----------------------------------------------------------------------------- CSV


def render_csv(rows: Iterable[Sequence[Any]], line_end: str = "\r\n") -> bytes:
    """CSV lines for ``rows``, UTF-8, quoted as RFC 4180 says (a field holding the delimiter,
    a quote, CR or LF is quoted; the writer only quotes CR when the line end holds one)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=line_end).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def csv_header(labels: Sequence[str], line_end: str = "\r\n") -> bytes:
    """The first line of a CSV export, after the byte-order mark."""
    return CSV_BOM.encode("utf-8") + render_csv([labels], line_end)


# ----------------------------------------------------------------------------- XLSX


def _date_serial(text: str) -> str:
    if "-" not in text:  # already a serial (the database computed it)
        return text
    return str(datetime.date.fromisoformat(text[:10]).toordinal() - EXCEL_EPOCH)


def _datetime_serial(text: str, zone) -> str:
    if "-" not in text:
        return text
    # Cells hold local wall time (a spreadsheet has no time zones); the database gives UTC.
    local = datetime.datetime.fromisoformat(text).astimezone(zone).replace(tzinfo=None)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    fraction = (local - midnight).total_seconds() / 86400
    return repr(local.toordinal() - EXCEL_EPOCH + fraction)


def _text(value: str) -> str:
    return _TEXT_CELL % value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_xlsx_rows(rows: Iterable[Sequence[Any]], kinds: Sequence[str]) -> bytes:
    """SpreadsheetML ``<row>`` elements for ``rows``: text as inline strings, numbers and
    booleans as values, dates and date-times as serials with a date format (given as serials
    or as ISO 8601 text)."""
    zone = timezone.get_current_timezone()
    renderers = []
    for kind in kinds:
        if kind == Kind.NUMBER:
            renderers.append(lambda v: f"<c><v>{v}</v></c>")
        elif kind == Kind.BOOLEAN:
            renderers.append(lambda v: f'<c t="b"><v>{int(v == "true")}</v></c>')
        elif kind == Kind.DATE:
            renderers.append(lambda v: f'<c s="{DATE_STYLE}"><v>{_date_serial(v)}</v></c>')
        elif kind == Kind.DATETIME:
            renderers.append(
                lambda v: f'<c s="{DATETIME_STYLE}"><v>{_datetime_serial(v, zone)}</v></c>'
            )
        else:
            renderers.append(_text)
    out: list[str] = [
        "<row>"
        + "".join(
            [
                _EMPTY_CELL if value is None or value == "" else render(value)
                for render, value in zip(renderers, row, strict=True)
            ]
        )
        + "</row>"
        for row in rows
    ]
    xml = _XML_INVALID.sub("", "".join(out)).replace("\r", "&#13;")
    return xml.encode("utf-8")


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="%s" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/styles" Target="styles.xml"/></Relationships>'
)
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_SHEET_START = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
    'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><sheetData>'
)
_SHEET_END = "</sheetData></worksheet>"


# ----------------------------------------------------------------------------- XLSX as segments


class SheetSegment:
    """Worksheet XML compressed as one piece of the worksheet's deflate stream: raw deflate
    ending on a byte boundary without a final block (a sync flush), so that pieces made apart,
    in any process, joined in order and closed by a final block, are one valid stream. Keeps
    the CRC-32 and size of what it compressed, which the zip directory needs.

    The same interface as a zstd compression object: ``compress(data)`` then ``flush()``."""

    def __init__(self, *, last: bool = False) -> None:
        self._deflate = zlib.compressobj(ZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        self._last = last
        self.crc32 = 0
        self.size = 0

    def compress(self, data: bytes) -> bytes:
        self.crc32 = zlib.crc32(data, self.crc32)
        self.size += len(data)
        return self._deflate.compress(data)

    def flush(self) -> bytes:
        return self._deflate.flush(zlib.Z_FINISH if self._last else zlib.Z_SYNC_FLUSH)

    @classmethod
    def of(cls, data: bytes, *, last: bool = False) -> tuple[bytes, int, int]:
        """``(compressed, crc32, size)`` of ``data`` as one segment."""
        segment = cls(last=last)
        compressed = segment.compress(data) + segment.flush()
        return compressed, segment.crc32, segment.size


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, row = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[row]
        vector >>= 1
        row += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, matrix[n]) for n in range(32)]


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-32 of ``a + b`` from ``crc32(a)``, ``crc32(b)`` and ``len(b)`` (zlib's
    ``crc32_combine``, which Python's zlib does not expose).

    >>> crc32_combine(zlib.crc32(b"ab"), zlib.crc32(b"cd"), 2) == zlib.crc32(b"abcd")
    True
    """
    if length2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]  # the operator for one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four zero bits
    while True:
        even = _gf2_square(odd)
        if length2 & 1:
            crc1 = _gf2_times(even, crc1)
        length2 >>= 1
        if not length2:
            break
        odd = _gf2_square(even)
        if length2 & 1:
            crc1 = _gf2_times(odd, crc1)
        length2 >>= 1
        if not length2:
            break
    return crc1 ^ crc2


_ZIP64 = 0xFFFFFFFF  # a 32-bit field at this value is in the entry's zip64 extra field


def _dos_time(moment: datetime.datetime) -> tuple[int, int]:
    return (
        moment.hour << 11 | moment.minute << 5 | moment.second // 2,
        (moment.year - 1980) << 9 | moment.month << 5 | moment.day,
    )


def _local_header(name: bytes, crc: int, packed: int, size: int, stamp: tuple[int, int]) -> bytes:
    extra = b""
    if packed >= _ZIP64 or size >= _ZIP64:
        extra = struct.pack("<HHQQ", 1, 16, size, packed)
        packed = size = _ZIP64
    version = 45 if extra else 20
    return (
        struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            version,
            0,
            zipfile.ZIP_DEFLATED,
            *stamp,
            crc,
            packed,
            size,
            len(name),
            len(extra),
        )
        + name
        + extra
    )


def _central_header(
    name: bytes, crc: int, packed: int, size: int, *, offset: int, stamp: tuple[int, int]
) -> bytes:
    large = []
    if size >= _ZIP64:
        large.append(size)
        size = _ZIP64
    if packed >= _ZIP64:
        large.append(packed)
        packed = _ZIP64
    if offset >= _ZIP64:
        large.append(offset)
        offset = _ZIP64
    extra = struct.pack(f"<HH{len(large)}Q", 1, 8 * len(large), *large) if large else b""
    version = 45 if large else 20
    return (
        struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            version,
            version,
            0,
            zipfile.ZIP_DEFLATED,
            *stamp,
            crc,
            packed,
            size,
            len(name),
            len(extra),
            0,
            0,
            0,
            0,
            offset,
        )
        + name
        + extra
    )


def workbook_ends(
    *, sheet_name: str, labels: Sequence[str], segments: Iterable[tuple[int, int, int]]
) -> tuple[bytes, bytes]:
    """The bytes of an XLSX workbook before and after its row segments: ``(head, tail)``.

    ``segments`` are ``(crc32, size, compressed size)`` of each ``SheetSegment`` of rows, in
    file order; the workbook is ``head``, the segments' bytes in that order, then ``tail``.
    The head holds the archive's small parts, the worksheet's local header and its first
    segment (the sheet's opening and the bold header row of ``labels``); the tail the closing
    segment and the zip directory (zip64 where a size or an offset needs it)."""
    stamp = _dos_time(timezone.now())
    header = "<row>" + "".join(_HEADER_CELL % escape(str(label)) for label in labels) + "</row>"
    opening, crc, size = SheetSegment.of((_SHEET_START + header).encode("utf-8"))
    closing, closing_crc, closing_size = SheetSegment.of(_SHEET_END.encode(), last=True)
    packed = len(opening)
    for segment_crc, segment_size, segment_packed in segments:
        crc = crc32_combine(crc, segment_crc, segment_size)
        size += segment_size
        packed += segment_packed
    crc = crc32_combine(crc, closing_crc, closing_size)
    size += closing_size
    packed += len(closing)

    head = bytearray()
    directory = bytearray()
    parts = (
        ("[Content_Types].xml", _CONTENT_TYPES),
        ("_rels/.rels", _RELS),
        ("xl/workbook.xml", _WORKBOOK % escape(sheet_name[:31], {'"': "&quot;"})),
        ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
        ("xl/styles.xml", _STYLES),
    )
    for name, text in parts:
        data, part_crc, part_size = SheetSegment.of(text.encode("utf-8"), last=True)
        directory += _central_header(
            name.encode(), part_crc, len(data), part_size, offset=len(head), stamp=stamp
        )
        head += _local_header(name.encode(), part_crc, len(data), part_size, stamp) + data
    sheet = SHEET_PATH.encode()
    directory += _central_header(sheet, crc, packed, size, offset=len(head), stamp=stamp)
    head += _local_header(sheet, crc, packed, size, stamp) + opening

    tail = bytearray(closing)
    start = len(head) + packed - len(opening)  # the zip directory's offset
    entries = len(parts) + 1
    tail += directory
    if start >= _ZIP64 or len(directory) >= _ZIP64:
        record = start + len(directory)
        tail += struct.pack(
            "<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, entries, entries, len(directory), start
        )
        tail += struct.pack("<IIQI", 0x07064B50, 0, record, 1)
    tail += struct.pack(
        "<IHHHHIIH",
        0x06054B50,
        0,
        0,
        entries,
        entries,
        min(len(directory), _ZIP64),
        min(start, _ZIP64),
        0,
    )
    return bytes(head), bytes(tail)


class Packed(NamedTuple):
    """A chunk's bytes as stored: ``data``, ``size`` bytes once unpacked, and for a worksheet
    segment the ``crc32`` of those."""

    data: bytes
    size: int
    crc32: int | None = None


def pack(payload: bytes, *, xlsx: bool) -> Packed:
    """A batch's rows packed for their chunk: CSV lines zstd-compressed, worksheet XML as a
    segment of the workbook's deflate stream."""
    if xlsx:
        data, crc32, size = SheetSegment.of(payload)
        return Packed(data, size, crc32)
    return Packed(compress(payload), len(payload))


def write_workbook(
    target: Any, *, sheet_name: str, labels: Sequence[str], row_chunks: Iterable[bytes]
) -> None:
    """Write an XLSX workbook to the binary file ``target``: a header row of ``labels``, then
    the rows of each chunk (as ``render_xlsx_rows`` made them), streamed into the archive."""
    header = "<row>" + "".join(_HEADER_CELL % escape(str(label)) for label in labels) + "</row>"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK % escape(sheet_name[:31], {'"': "&quot;"}))
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/styles.xml", _STYLES)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(_SHEET_START.encode())
            sheet.write(header.encode("utf-8"))
            for chunk in row_chunks:
                sheet.write(chunk)
            sheet.write(_SHEET_END.encode())


def split_file(source: Any, part_size: int = FILE_PART_SIZE) -> Iterator[bytes]:
    """``source`` (a binary file) in parts of ``part_size`` bytes."""
    while part := source.read(part_size):
        yield part


def write_atomically(path: Path, parts: Iterable[bytes]) -> None:
    """Write ``parts`` to ``path`` through a temporary file in the same directory, renamed
    into place at the end: a reader never sees half a file, and a retry overwrites."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            for part in parts:
                out.write(part)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
