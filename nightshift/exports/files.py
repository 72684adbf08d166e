"""Rendering rows into file chunks, finishing files and reading them back, all streaming.

Rows arrive as tuples of cell texts (``None`` for an empty cell) straight from the database
cursor (see ``nightshift.exports.base``). A CSV chunk is those rows through ``csv.writer``; an
XLSX chunk is the same rows as SpreadsheetML ``<row>`` elements with typed cells. A workbook is
zipped from its chunks with one worksheet streamed into the archive, so neither the batches
nor the final assembly ever hold more than one chunk in memory, whatever the row count.

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
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import zstandard
from django.utils import timezone

from nightshift.exports.base import Kind

__all__ = [
    "compress",
    "csv_header",
    "decompress",
    "render_csv",
    "render_xlsx_rows",
    "write_workbook",
]

CSV_BOM = "\ufeff"  # Excel reads a UTF-8 CSV as UTF-8 only when it starts with this mark
FILE_PART_SIZE = 4 * 1024 * 1024  # bytes per stored part of a finished workbook
ZSTD_LEVEL = 3  # fast enough not to show in the batch time, and shrinks CSV about 5 times
ZIP_LEVEL = 1  # the worksheet dominates the time; level 1 costs a fifth of level 6 for ~10 % size
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
