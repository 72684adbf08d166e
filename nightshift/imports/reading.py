"""Reading uploaded files: CSV (encoding and delimiter detected) and spreadsheets (.xlsx, .xls,
.ods through python-calamine), row by row.

``inspect`` looks at a file once and says what it is (format, encoding, delimiter, sheets);
``open_source`` then gives its rows as ``(row number, cells)`` as often as needed. Row numbers
are those a spreadsheet program shows (the header is row 1); blank rows are skipped and
numbered all the same. CSV is streamed, so memory stays flat however long the file; a
spreadsheet sheet is held by calamine while it is read.

A file that cannot be read raises ``FileProblem`` with a message for the operator: not a
spreadsheet, damaged or cut short, empty, too large, an unknown sheet.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import zipfile
from collections.abc import Container, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from nightshift.imports import reader_process, xlsx

__all__ = ["FORMATS", "FileProblem", "Layout", "Source", "inspect", "open_source"]

FORMATS = ("csv", "xlsx", "xls", "ods")
# Bytes looked at to detect the encoding and the delimiter: enough for dozens of rows.
SAMPLE_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")
# An .xlsx file from this size on is read by a child process (``reader_process``) when read
# whole, unless NIGHTSHIFT_IMPORT_CHILD_READER_BYTES says otherwise (None: never): below it,
# starting the process costs more than the overlap saves.
CHILD_READER_BYTES = 1024 * 1024
# Rows of such a file read in-process before the child takes over: the header and the
# mapping's sample rows never start a process, and they are parsed here anyway (a quarter of a
# megabyte of the worksheet, about 430 rows of ten cells, is split into cells at a time).
IN_PROCESS_ROWS = 1_000
# Upload limit unless NIGHTSHIFT_IMPORT_MAX_BYTES says otherwise.
MAX_BYTES = 512 * 1024 * 1024
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (and other old Office files)
ZIP = b"PK\x03\x04"
# Magic numbers of files people upload by mistake.
NOT_TABULAR = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\x1f\x8b", b"Rar!", b"7z\xbc")
# Bytes that never appear in text (C0 controls but tab, newline, carriage return, form feed).
BINARY = frozenset(range(32)) - {9, 10, 12, 13}

# A field longer than the csv module's default 128 KiB is a broken file, not a long note;
# 1 MiB leaves room for genuine long notes.
FIELD_LIMIT = 1024 * 1024
csv.field_size_limit(FIELD_LIMIT)


class FileProblem(Exception):
    """The file cannot be imported at all; the message says why, for the operator."""


@dataclass
class Layout:
    """What a file is: its format and, for CSV, encoding and delimiter; for spreadsheets,
    the sheet to read and the sheets there are."""

    format: str
    encoding: str = ""
    delimiter: str = ""
    sheet: str = ""
    sheets: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def check_size(size: int, limit: int | None = None) -> None:
    if limit is None:
        limit = getattr(settings, "NIGHTSHIFT_IMPORT_MAX_BYTES", MAX_BYTES)
    if size == 0:
        raise FileProblem(_("The file is empty."))
    if size > limit:
        raise FileProblem(
            _("The file is %(size)s; files up to %(limit)s can be imported.")
            % {"size": _megabytes(size), "limit": _megabytes(limit)}
        )


def inspect(path: str | Path, *, sheet: str = "", limit: int | None = None) -> Layout:
    """Say what the file at ``path`` is, or raise ``FileProblem``."""
    path = Path(path)
    check_size(path.stat().st_size, limit)
    with path.open("rb") as stream:
        head = stream.read(SAMPLE_BYTES)
    if head.startswith(ZIP):
        return _sheet_layout(path, _zip_format(path), sheet)
    if head.startswith(OLE2):
        return _sheet_layout(path, "xls", sheet)
    if head.startswith(NOT_TABULAR):
        raise _not_tabular()
    encoding = detect_encoding(head)
    text = _decode_sample(head, encoding)
    if any(ord(char) in BINARY for char in text[:SAMPLE_BYTES]):
        raise _not_tabular()
    return Layout("csv", encoding=encoding, delimiter=sniff_delimiter(text))


def _not_tabular() -> FileProblem:
    return FileProblem(
        _("This is not a CSV file or a spreadsheet; upload a .csv, .xlsx, .xls or .ods file.")
    )


def _truncated() -> FileProblem:
    return FileProblem(
        _(
            "The file is damaged or incomplete (it may have been cut short while copying); "
            "save it again from its program and upload it again."
        )
    )


def _zip_format(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" in names:
                return "xlsx"
            if {"content.xml", "mimetype"} <= names and b"spreadsheet" in archive.read("mimetype"):
                return "ods"
    except zipfile.BadZipFile:
        raise _truncated() from None
    raise _not_tabular()


def _sheet_layout(path: Path, fmt: str, sheet: str) -> Layout:
    names = _xlsx_sheet_names(path) if fmt == "xlsx" else None
    if names is None:
        names = _calamine_sheet_names(path)
    if not names:
        raise FileProblem(_("The spreadsheet has no sheets."))
    if sheet and sheet not in names:
        raise FileProblem(
            _("The spreadsheet has no sheet “%(sheet)s”; its sheets are: %(sheets)s.")
            % {"sheet": sheet, "sheets": ", ".join(names)}
        )
    return Layout(fmt, sheet=sheet or names[0], sheets=names)


def _xlsx_sheet_names(path: Path) -> list[str] | None:
    """An .xlsx workbook's sheets as its ``workbook.xml`` lists them, or ``None`` when that
    is laid out otherwise than the streaming reader expects. Not calamine: opening a workbook,
    it loads every shared string (some 300 MB for a million rows saved by Excel)."""
    with _damaged_as_problem():
        try:
            return xlsx.sheet_names(str(path))
        except xlsx.Unsupported:
            return None


def _calamine_sheet_names(path: Path) -> list[str]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error classes per format
        raise _calamine_problem(exc) from None
    with workbook:
        return list(workbook.sheet_names)


def _calamine_problem(exc: Exception) -> FileProblem:
    from python_calamine import PasswordError

    if isinstance(exc, PasswordError):
        return FileProblem(_("The spreadsheet is protected by a password; save it without one."))
    return _truncated()


def detect_encoding(head: bytes) -> str:  # noqa: PLR0911 — one answer per evidence
    """The encoding of a text file from its first bytes: a byte-order mark, else UTF-8 when
    it decodes, else what charset-normalizer finds among UTF-16 and Windows-1252/Latin-1."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # final=False: a sample cut inside a multi-byte character is still UTF-8.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    zeros_even = head[0::2].count(0)
    zeros_odd = head[1::2].count(0)
    if zeros_odd > len(head) // 4:
        return "utf-16-le"
    if zeros_even > len(head) // 4:
        return "utf-16-be"
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    guess = (best.encoding if best else "").replace("_", "-")
    if guess.startswith("utf-16"):
        return guess
    try:
        head.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


def _decode_sample(head: bytes, encoding: str) -> str:
    try:
        return codecs.getincrementaldecoder(encoding)().decode(head, final=False)
    except UnicodeDecodeError:
        raise _not_tabular() from None


def sniff_delimiter(text: str) -> str:
    """The delimiter among comma, semicolon, tab and pipe that splits the sample's first
    records into the same number (> 1) of fields most consistently; comma when none does."""
    # Drop the last line: the sample may end inside it.
    cut = text.rfind("\n")
    sample = text[:cut] if cut > 0 else text
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            records = [r for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r][:50]
        except csv.Error:
            continue
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        score = (sum(1 for record in records if len(record) == width), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


class Source:
    """The rows of one file, readable from the start as often as needed."""

    def __init__(self, path: str | Path, layout: Layout) -> None:
        self.path = Path(path)
        self.layout = layout
        self._sheet = None
        self._streamed: bool | None = None

    def rows(self, *, only: Container[int] | None = None) -> Iterator[tuple[int, list[Any]]]:
        """``(row number, cells)`` of every non-blank row, in order; with ``only``, of those
        rows only."""
        if self.streamed():
            return self._xlsx_rows(only)
        if self.layout.format == "csv":
            return self._csv_rows(only)
        rows = self._sheet_rows()
        return rows if only is None else ((n, cells) for n, cells in rows if n in only)

    def count(self) -> int:
        """The non-blank rows; the whole file is read, so a file broken further down fails
        here."""
        if self.streamed():
            with _damaged_as_problem():
                return xlsx.count_rows(str(self.path), self.layout.sheet)
        if self.layout.format == "csv":
            return sum(1 for _row in self._csv_rows(parse=False))
        return sum(1 for _row in self.rows())

    def streamed(self) -> bool:
        """Whether the sheet is read as a stream (an .xlsx worksheet laid out as spreadsheet
        programs write them) rather than held whole by calamine (about 100 bytes a cell)."""
        if self._streamed is None:
            self._streamed = self.layout.format == "xlsx" and xlsx.readable(
                str(self.path), self.layout.sheet
            )
        return self._streamed

    def _csv_rows(
        self, only: Container[int] | None = None, *, parse: bool = True
    ) -> Iterator[tuple[int, list[Any]]]:
        """The non-blank rows (with ``only``, those rows only). Until a line holds a quote
        character, it is a row of its own, and when not all rows are wanted it is parsed only
        if wanted (``parse`` off: never — the rows are counted, their cells are empty)."""
        layout = self.layout
        number = 0
        try:
            with self.path.open(encoding=layout.encoding, newline="") as stream:
                lines: Iterable[str] = stream
                if only is not None or not parse:
                    for line in stream:
                        if '"' in line or len(line) > FIELD_LIMIT:  # the csv module decides
                            lines = chain([line], stream)
                            break
                        number += 1
                        if only is not None and number not in only:
                            continue
                        if not parse:
                            if line.rstrip("\r\n").strip(layout.delimiter):
                                yield number, []
                            continue
                        record = next(csv.reader([line], delimiter=layout.delimiter))
                        if any(record):
                            yield number, record
                    else:
                        return
                reader = csv.reader(lines, delimiter=layout.delimiter, strict=True)
                first = number + 1
                for number, record in enumerate(reader, start=first):
                    if record and any(record) and (only is None or number in only):
                        yield number, record
        except UnicodeDecodeError as exc:
            raise FileProblem(
                _(
                    "The file is not valid %(encoding)s text after row %(row)s (byte %(byte)s); "
                    "save it again as UTF-8."
                )
                % {"encoding": layout.encoding, "row": number, "byte": exc.start}
            ) from None
        except csv.Error as exc:
            raise FileProblem(
                _(
                    "Row %(row)s cannot be read (%(error)s); the file may have been cut short "
                    "inside a quoted value."
                )
                % {"row": number + 1, "error": exc}
            ) from None

    def sheet(self):
        if self._sheet is None:
            from python_calamine import CalamineWorkbook

            try:
                workbook = CalamineWorkbook.from_path(str(self.path))
                self._sheet = workbook.get_sheet_by_name(self.layout.sheet)
            except Exception as exc:
                raise _calamine_problem(exc) from None
        return self._sheet

    def _sheet_rows(self) -> Iterator[tuple[int, list[Any]]]:
        sheet = self.sheet()
        first_row = (sheet.start or (0, 0))[0] + 1
        for index, cells in enumerate(sheet.iter_rows()):
            if any(cell != "" and cell is not None for cell in cells):
                yield first_row + index, cells

    def _xlsx_rows(
        self, only: Container[int] | None, *, child: bool = True
    ) -> Iterator[tuple[int, list[Any]]]:
        """A worksheet streamed: memory stays flat however long it is. Read whole and large
        enough to pay for a process, it is read by a child process while the import works."""
        if only is None and child and self._read_in_child():
            yield from self._child_rows()
            return
        rows = xlsx.iter_rows(str(self.path), self.layout.sheet, only=only)
        while True:
            with _damaged_as_problem():
                found = next(rows, None)
            if found is None:
                return
            number, cells = found
            if not xlsx.blank(cells):
                yield number, cells

    def _read_in_child(self) -> bool:
        threshold = getattr(settings, "NIGHTSHIFT_IMPORT_CHILD_READER_BYTES", CHILD_READER_BYTES)
        return (
            threshold is not None
            and self.path.stat().st_size >= threshold
            and _cores() > 1  # else nothing to overlap with
        )

    def _child_rows(self) -> Iterator[tuple[int, list[Any]]]:
        """The first rows read here (a look at the header or the first rows never starts a
        process), the others by the child."""
        rows = self._xlsx_rows(None, child=False)
        for count, (number, cells) in enumerate(rows, start=1):
            yield number, cells
            if count == IN_PROCESS_ROWS:
                break
        else:
            return  # the whole worksheet was read here
        rows.close()
        chunks = reader_process.iter_chunks(str(self.path), self.layout.sheet, skip=IN_PROCESS_ROWS)
        try:
            while True:
                with _damaged_as_problem():  # the child's errors are raised as its own
                    chunk = next(chunks, None)
                if chunk is None:
                    return
                if chunk[0][0] <= number:  # never: both skip the same rows
                    raise RuntimeError("the worksheet reader process went astray")
                number = chunk[-1][0]
                yield from chunk
        finally:
            chunks.close()  # a reader left before the end stops its child now

    def close(self) -> None:
        self._sheet = None


def _cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@contextmanager
def _damaged_as_problem() -> Iterator[None]:
    try:
        yield
    except (xlsx.Unsupported, zipfile.BadZipFile, EOFError, OSError, ValueError, IndexError):
        # zlib and zipfile errors (cut short), a cell no spreadsheet writes, a sheet that
        # said it was laid out one way and is not
        raise _truncated() from None


def open_source(path: str | Path, layout: Layout) -> Source:
    return Source(path, layout)
