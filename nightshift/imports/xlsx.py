"""Reading one worksheet of an .xlsx file row by row, in memory that does not grow with it.

python-calamine (which reads .xls and .ods, and which ``inspect`` uses to check a workbook)
holds a whole sheet while it is read: about 1.2 GB for a million rows of ten columns, over the
import's 250 MB budget. A worksheet is a zipped XML stream of ``<row>`` elements, so this reads
it a chunk at a time and gives each row's cells as calamine would: text, numbers (floats),
booleans, dates and times where the cell's number format is a date format, ``""`` for an empty
cell, every row as wide as the sheet's ``<dimension>``. Shared strings (the workbook's
distinct texts, which Excel and LibreOffice write every text cell as) are held in memory as a
list up to a few megabytes of them; past that they wait in a temporary file, read back a
group at a time (``SpilledStrings``): a million-row workbook saved by Excel has millions.

A workbook this reader does not expect (no dimension, prefixed element names, a sheet it
cannot find) raises ``Unsupported``, and the caller reads it with calamine instead.
"""

from __future__ import annotations

import codecs
import datetime
import html
import os
import posixpath
import re
import tempfile
import zipfile
from array import array
from collections.abc import Callable, Container, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from functools import cache
from itertools import islice
from typing import Any

__all__ = [
    "SpilledStrings",
    "Unsupported",
    "blank",
    "count_rows",
    "iter_rows",
    "readable",
    "sheet_names",
]

# Characters of the worksheet decoded and split into cells at a time: a quarter of a megabyte
# reads as fast as a megabyte, and its cells take a fifth of the memory (about 20 MB, not 55).
CHUNK = 1 << 18

_ROW = re.compile(r"<row\b([^>]*?)(?:/>|>(.*?)</row>)", re.S)
# A cell as spreadsheet programs write it — attributes r, s, t in the schema's order, a value
# or an inline string — matched whole: column letters, row, style, type, value, inline text.
_FAST_CELL = re.compile(
    r'<c r="([A-Z]+)(\d+)"(?: s="(\d+)")?(?: t="(\w+)")?[^>/]*'
    r"(?:/>|>(?:<f\b[^>]*?(?:/>|>[^<]*</f>))?"
    r"(?:<v>([^<]*)</v>|<is><t>([^<]*)</t></is>|<is>(.*?)</is>)?</c>)",
    re.S,
)
# A shared string as a plain run of text (group 1), else as anything else — rich text runs,
# phonetic hints — (group 2), or an empty item.
_SHARED = re.compile(
    r'<si><t(?: xml:space="preserve")?>([^<]*)</t></si>|<si\b[^>]*?(?:/>|>(.*?)</si>)', re.S
)
# Shared strings past this many bytes of XML (about 150,000 texts; a list of them takes some
# 2.5 times their XML) are kept in a temporary file rather than in a list.
SPILL_BYTES = 4 << 20
_CELL = re.compile(r"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_TEXT = re.compile(r"<t\b[^>]*?(?:/>|>(.*?)</t>)", re.S)
_VALUE = re.compile(r"<v\b[^>]*>(.*?)</v>", re.S)
_ROW_START = re.compile(r'<row\b[^>]*?\br="(\d+)"[^>]*?(/?)>')
_EMPTY_ROW = re.compile(r"<row\b[^>]*?(?:/>|>(?:<c\b[^>]*?/>)*</row>)")
_PHONETIC = re.compile(r"<rPh\b.*?</rPh>", re.S)
_ATTRIBUTE = re.compile(r'\b(r|t|s)="([^"]*)"')
_DIMENSION = re.compile(r'<dimension\b[^>]*\bref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
_SHEET = re.compile(r"<sheet\b([^>]*)/?>")
_NAME = re.compile(r'\bname="([^"]*)"')
_RELATION = re.compile(r"<Relationship\b([^>]*)/?>")
_XF = re.compile(r"<xf\b([^>]*?)(?:/>|>)")
_NUMFMT = re.compile(r'<numFmt\b[^>]*\bnumFmtId="(\d+)"[^>]*\bformatCode="([^"]*)"')
# Built-in number formats that are dates or times (ECMA-376 18.8.30, and the East Asian ones
# Excel also treats as dates).
_BUILTIN_DATES = {*range(14, 18), 22, *range(27, 37), *range(50, 59)}
_BUILTIN_TIMES = {18, 19, 20, 21, 45, 46, 47}
EPOCH_1900 = datetime.datetime(1899, 12, 30)  # noqa: DTZ001 — a calendar origin, no zone
EPOCH_1904 = datetime.datetime(1904, 1, 1)  # noqa: DTZ001


class Unsupported(Exception):
    """The workbook is laid out in a way this reader leaves to calamine."""


def iter_rows(
    path: str, sheet: str, *, only: Container[int] | None = None
) -> Iterator[tuple[int, list[Any]]]:
    """``(row number, cells)`` of every row of ``sheet`` that has one, in order; with
    ``only``, of those rows only (the others are skipped without reading their cells)."""
    with zipfile.ZipFile(path) as archive:
        member, kinds, base = _workbook(archive, sheet)
        with closing(_SharedStrings(archive)) as shared, archive.open(member) as stream:
            yield from _rows(_chunks(stream), shared, kinds, base, only)


def sheet_names(path: str) -> list[str]:
    """The workbook's sheet names in order, from its ``workbook.xml`` (without reading its
    shared strings, which calamine loads whole when it opens a workbook)."""
    with zipfile.ZipFile(path) as archive:
        return list(_sheets(_read(archive, "xl/workbook.xml") or ""))


def blank(cells: list[Any]) -> bool:
    """Whether a row has no value (a row of empty cells or styled ones): not a row to import."""
    return all(cell == "" or cell is None for cell in cells)


def readable(path: str, sheet: str) -> bool:
    """Whether this reader reads ``sheet``: its workbook and the head of the worksheet are
    laid out as it expects (a ``<dimension>`` range, unprefixed element names)."""
    try:
        with zipfile.ZipFile(path) as archive:
            member, _kinds, _base = _workbook(archive, sheet)
            with archive.open(member) as stream:
                head = stream.read(64 * 1024).decode("utf-8", errors="replace")
        _dimension(head)
    except (Unsupported, zipfile.BadZipFile, OSError, EOFError):
        return False
    return True


def count_rows(path: str, sheet: str) -> int:
    """The rows of ``sheet`` that hold a value, counted without reading their cells (a row
    whose cells are all empty elements does not count). The whole worksheet is inflated, so a
    worksheet cut short fails here."""
    with zipfile.ZipFile(path) as archive:
        member, _kinds, _base = _workbook(archive, sheet)
        total = 0
        with archive.open(member) as stream:
            # The last part too: self-closing rows after the last row with cells.
            for part in _parts(_chunks(stream), "</row>"):
                total += part.count("<row") - len(_EMPTY_ROW.findall(part))
        _check_end(part)
        return total


def _check_end(tail: str) -> None:
    """A worksheet cut short inside a well-formed archive: its rows never close."""
    if "</sheetData>" not in tail and "<sheetData/>" not in tail:
        raise ValueError("the worksheet ends before its rows do")


def _read(archive: zipfile.ZipFile, name: str) -> str | None:
    try:
        return archive.read(name).decode("utf-8")
    except KeyError:
        return None


def _workbook(
    archive: zipfile.ZipFile, sheet: str
) -> tuple[str, dict[int, str], datetime.datetime]:
    """The worksheet's member name, the date kind of each cell style, the date origin."""
    workbook = _read(archive, "xl/workbook.xml") or ""
    relations = _read(archive, "xl/_rels/workbook.xml.rels") or ""
    attributes = _sheets(workbook).get(sheet)
    target = None
    if attributes is not None:
        relation = re.search(r'\br:id="([^"]*)"', attributes) or re.search(
            r'\bid="([^"]*)"', attributes
        )
        target = relation and _target(relations, relation.group(1))
    if not target:
        raise Unsupported
    member = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
    if member not in archive.namelist():
        raise Unsupported
    base = EPOCH_1904 if re.search(r'\bdate1904="(1|true)"', workbook) else EPOCH_1900
    return posixpath.normpath(member), _style_kinds(_read(archive, "xl/styles.xml") or ""), base


def _sheets(workbook: str) -> dict[str, str]:
    """The attributes of each ``<sheet>`` of a ``workbook.xml``, by sheet name, in order."""
    if "<sheet" not in workbook or "<x:" in workbook:
        raise Unsupported
    sheets = {}
    for attributes in _SHEET.findall(workbook):
        name = _NAME.search(attributes)
        if name is None:
            raise Unsupported
        sheets[html.unescape(name.group(1))] = attributes
    return sheets


def _target(relations: str, relation_id: str) -> str | None:
    for attributes in _RELATION.findall(relations):
        if re.search(rf'\bId="{re.escape(relation_id)}"', attributes):
            found = re.search(r'\bTarget="([^"]*)"', attributes)
            return found.group(1) if found else None
    return None


def _style_kinds(styles: str) -> dict[int, str]:
    """Cell style index → "date", "datetime" or "time" for styles whose number format is
    one; the others are absent."""
    custom = {int(number): html.unescape(code) for number, code in _NUMFMT.findall(styles)}
    start = styles.find("<cellXfs")
    end = styles.find("</cellXfs>", start)
    if start < 0:
        return {}
    kinds = {}
    for index, attributes in enumerate(_XF.findall(styles[start:end])):
        found = re.search(r'\bnumFmtId="(\d+)"', attributes)
        number = int(found.group(1)) if found else 0
        kind = _format_kind(number, custom.get(number))
        if kind:
            kinds[index] = kind
    return kinds


def _format_kind(number: int, code: str | None) -> str | None:
    if code is None:
        if number in _BUILTIN_DATES:
            return "date"
        return "time" if number in _BUILTIN_TIMES else None
    # Only the format of positive numbers counts; quoted text, escaped characters and
    # [colour]/[$-locale] sections do not; elapsed time ([h]:mm) is a duration, not a time.
    plain = re.sub(r'"[^"]*"|\\.|_.|\*.', "", code.split(";")[0])
    if re.search(r"\[(h+|m+|s+)\]", plain, re.IGNORECASE):
        return None
    plain = re.sub(r"\[[^\]]*\]", "", plain).lower()
    has_time = "h" in plain or "s" in plain or "am/pm" in plain
    # "m" is a month unless a time is shown (then hh:mm and mm:ss make it minutes).
    has_date = "y" in plain or "d" in plain or ("m" in plain and not has_time)
    if has_date and has_time:
        return "datetime"
    if has_date:
        return "date"
    return "time" if has_time else None


class _SharedStrings:
    """A workbook's shared strings, read as far as its cells have asked for them (``more``): a
    list, or past ``SPILL_BYTES`` of them a ``SpilledStrings``. The first rows of a workbook
    — a preview, the header — use the first of its texts only."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        names = set(archive.namelist())
        name = next(
            (n for n in ("xl/sharedStrings.xml", "xl/SharedStrings.xml") if n in names), None
        )
        spilled = name is not None and archive.getinfo(name).file_size > SPILL_BYTES
        self.texts: list[str] | SpilledStrings = SpilledStrings() if spilled else []
        self._reading = self._texts_read(archive, name)

    def _texts_read(self, archive: zipfile.ZipFile, name: str | None) -> Iterator[list[str]]:
        """The texts of the table's whole ``<si>`` items, a chunk at a time."""
        if name is None:
            return
        with archive.open(name) as stream:
            for part in _parts(_chunks(stream), "</si>"):
                yield _shared_texts(part)
        if isinstance(self.texts, SpilledStrings):
            self.texts.finish()  # the last group, not full
            yield []

    def more(self, index: int) -> str:
        """Text number ``index``, reading on until it is there (``IndexError`` when the table
        ends before it)."""
        while True:
            try:
                return self.texts[index]
            except IndexError:
                texts = next(self._reading, None)
                if texts is None:
                    raise
                self.texts.extend(texts)

    def close(self) -> None:
        self._reading.close()
        if isinstance(self.texts, SpilledStrings):
            self.texts.close()


def _shared_texts(part: str) -> list[str]:
    """The texts of the whole ``<si>`` items of ``part``: plain ones taken as they are
    (unescaped if the part holds an escape at all), the others read run by run."""
    escaped = "&" in part or "_x" in part
    return [
        (_unescape(plain) if escaped else plain) if not other else _text(_PHONETIC.sub("", other))
        for plain, other in _SHARED.findall(part)
    ]


class SpilledStrings(Sequence[str]):
    """Shared strings kept in a temporary file, in groups of ``GROUP``, each written as the
    offsets of its texts (4 bytes each) then the texts.

    Spreadsheet programs number shared strings in the order cells first use them, so a
    worksheet read from the top asks for new texts nearly in order: the group holding the
    newest text asked for is read back whole and held, with the few before it. A text of an
    older group (a city, a zip code, a first name used again) is read on its own, two small
    reads, and kept among the last ``TEXTS_HELD`` or so read. A million-row workbook is read
    holding some 15 MB of its texts, not a gigabyte."""

    GROUP_BITS = 10
    GROUP = 1 << GROUP_BITS
    GROUPS_HELD = 4
    TEXTS_HELD = 131_072  # some 13 MB: the zip codes and birth dates of a million contacts

    def __init__(self) -> None:
        # Unbuffered: groups are read back (``os.pread``) while later ones are still written.
        self._file = tempfile.TemporaryFile(  # noqa: SIM115 — closed by ``close``
            buffering=0, prefix="nightshift-shared-strings-"
        )
        self._starts = array("Q", [0])  # where each group begins in the file, and the end
        self._pending: list[str] = []  # texts of the group being filled
        self._length = 0
        self._groups: dict[int, list[str]] = {}  # the groups held, oldest first
        self._newest = -1  # the newest group read whole
        self._texts: dict[int, str] = {}  # texts of older groups, by index, oldest first

    def extend(self, texts: list[str]) -> None:
        self._pending.extend(texts)
        while len(self._pending) >= self.GROUP:
            self._write(self._pending[: self.GROUP])
            del self._pending[: self.GROUP]

    def finish(self) -> None:
        """Write the last group: every text has been given."""
        if self._pending:
            self._write(self._pending)
            self._pending = []

    def _write(self, group: list[str]) -> None:
        encoded = [text.encode("utf-8", "surrogatepass") for text in group]
        offsets = array("I", [0])
        for data in encoded:
            offsets.append(offsets[-1] + len(data))
        self._file.write(offsets.tobytes())
        self._file.write(b"".join(encoded))
        self._starts.append(self._file.tell())
        self._length += len(group)

    def __len__(self) -> int:
        return self._length  # the texts written; those of a group not full yet are not

    def __getitem__(self, index):  # type: ignore[override]  # an int index only
        group = self._groups.get(index >> self.GROUP_BITS)
        if group is not None:
            return group[index & (self.GROUP - 1)]
        text = self._texts.get(index)
        return text if text is not None else self._missing(index)

    def _missing(self, index: int) -> str:
        number = index >> self.GROUP_BITS
        if not 0 <= index < self._length:
            raise IndexError(index)
        if number > self._newest:
            return self._read_group(number)[index & (self.GROUP - 1)]
        text = self._read_text(number, index & (self.GROUP - 1))
        if len(self._texts) >= self.TEXTS_HELD:
            # The eighth read longest ago let go, the rest copied: deleting a dict's first key
            # over and over, each search for the next first key would go further.
            let_go = max(1, self.TEXTS_HELD // 8)
            self._texts = dict(islice(self._texts.items(), let_go, None))
        self._texts[index] = text
        return text

    def _size(self, number: int) -> int:
        return min(self.GROUP, self._length - (number << self.GROUP_BITS))

    def _read_group(self, number: int) -> list[str]:
        size = self._size(number)
        start, end = self._starts[number], self._starts[number + 1]
        data = os.pread(self._file.fileno(), end - start, start)
        head = 4 * (size + 1)
        offsets = array("I", data[:head])
        body = memoryview(data)[head:]
        group = [
            str(body[offsets[i] : offsets[i + 1]], "utf-8", "surrogatepass") for i in range(size)
        ]
        if len(self._groups) >= self.GROUPS_HELD:
            del self._groups[next(iter(self._groups))]
        self._groups[number] = group
        self._newest = number
        return group

    def _read_text(self, number: int, position: int) -> str:
        start = self._starts[number]
        fd = self._file.fileno()
        first, last = array("I", os.pread(fd, 8, start + 4 * position))
        head = 4 * (self._size(number) + 1)
        return os.pread(fd, last - first, start + head + first).decode("utf-8", "surrogatepass")

    def close(self) -> None:
        self._file.close()
        self._groups.clear()
        self._texts.clear()


def _chunks(stream) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8")()
    while block := stream.read(CHUNK):
        yield decoder.decode(block)
    yield decoder.decode(b"", final=True)


def _parts(chunks: Iterator[str], closing: str) -> Iterator[str]:
    """The text of ``chunks`` in parts ending with a ``closing`` tag, so that no element is cut
    in two; then what follows the last one (the document's end, or where it was cut short),
    the one part that does not end with it."""
    buffer = ""
    for chunk in chunks:
        buffer += chunk
        end = buffer.rfind(closing)
        if end >= 0:
            end += len(closing)
            yield buffer[:end]
            buffer = buffer[end:]
    yield buffer


def _text(body: str) -> str:
    """The text of an inline or shared string: its ``<t>`` runs joined, unescaped."""
    return _unescape("".join(part or "" for part in _TEXT.findall(body)))


def _unescape(text: str) -> str:
    if "&" in text:
        text = html.unescape(text)
    if "_x" in text:
        text = _ESCAPED.sub(lambda found: chr(int(found.group(1), 16)), text)
    return text


@cache
def _column(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number - 1


def _rows(
    chunks: Iterator[str],
    shared: _SharedStrings,
    kinds: dict[int, str],
    base: datetime.datetime,
    only: Container[int] | None,
) -> Iterator[tuple[int, list[Any]]]:
    sheet = None
    wanted = _Wanted(only) if only is not None else None
    for part in _parts(chunks, "</row>"):
        if sheet is None:
            if "<sheetData" not in part:
                raise Unsupported
            sheet = _Sheet(shared.texts, shared.more, kinds, base, *_dimension(part))
        if not part.endswith("</row>"):  # the end of the worksheet
            _check_end(part)
        elif wanted is not None:  # a few rows wanted: the others are not even split into cells
            yield from _chosen_rows(part, sheet, wanted)
        elif len(cells := _FAST_CELL.findall(part)) == part.count("<c ") + part.count("<c>"):
            yield from _fast_rows(cells, sheet)
        else:  # a cell written some other way: each row parsed on its own
            yield from _slow_rows(part, sheet)


def _fast_rows(  # noqa: PLR0912 — written out, see below
    cells: list[tuple[str, ...]], sheet: _Sheet
) -> Iterator[tuple[int, list[Any]]]:
    # The loop of every cell of the file: the common cases (a text, a shared string, a cell
    # inside the sheet's columns) are written out here rather than called.
    width, first, strings, more, value_of = (
        sheet.width,
        sheet.first,
        sheet.strings,
        sheet.more,
        sheet.value,
    )
    row: list[Any] = []
    current = ""
    for letters, number, style, kind, raw, plain, inline in cells:
        if number != current:
            if current:
                yield int(current), row
            current, row = number, [""] * width
        if kind == "inlineStr":
            if inline:
                value = _text(inline)
            else:
                value = _unescape(plain) if "&" in plain or "_x" in plain else plain
        elif not raw:
            continue
        elif kind == "s":
            try:
                value = strings[int(raw)]
            except IndexError:  # not read that far yet
                value = more(int(raw))
        else:
            value = value_of(kind, style, raw)
        index = _column(letters) - first
        if 0 <= index < width:
            row[index] = value
        else:
            _put(row, index, value)
    if current:
        yield int(current), row


class _Wanted:
    """The rows asked for, in order, and how far the worksheet has been read."""

    def __init__(self, only: Container[int]) -> None:
        self.only = only
        self.numbers = sorted(only)  # type: ignore[call-overload]  # a set or mapping of rows
        self.next = 0  # the first number not yet looked for


def _chosen_rows(part: str, sheet: _Sheet, wanted: _Wanted) -> Iterator[tuple[int, list[Any]]]:
    """The wanted rows of ``part`` (whole rows), found by their ``<row r="…"`` tags without
    parsing the rows between them."""
    last = part.rfind('<row r="')
    if last < 0 or part.count('<row r="') != part.count("<row"):  # rows written otherwise
        yield from _slow_rows(part, sheet, wanted.only)
        last_number = max((int(n) for n in re.findall(r'\br="(\d+)"', part)), default=0)
    else:
        last_number = int(part[last + 8 : part.index('"', last + 8)])
        position = 0
        numbers = wanted.numbers
        while wanted.next < len(numbers) and numbers[wanted.next] <= last_number:
            number = numbers[wanted.next]
            wanted.next += 1
            found = part.find(f'<row r="{number}"', position)
            if found < 0:  # a blank row, not written
                continue
            position = part.index(">", found)
            if part[position - 1] == "/":  # a row without cells
                continue
            end = part.index("</row>", position)
            yield number, _cells(part[position + 1 : end], sheet)
            position = end
    while wanted.next < len(wanted.numbers) and wanted.numbers[wanted.next] <= last_number:
        wanted.next += 1


def _slow_rows(
    part: str, sheet: _Sheet, only: Container[int] | None = None
) -> Iterator[tuple[int, list[Any]]]:
    number = 0
    for found in _ROW.finditer(part):
        attributes, body = found.groups()
        row = re.search(r'\br="(\d+)"', attributes)
        number = int(row.group(1)) if row else number + 1
        if body and (only is None or number in only):
            yield number, _cells(body, sheet)


def _typed(kind: str, raw: str) -> Any:
    if kind in ("str", "e"):
        return _unescape(raw)
    if kind == "b":
        return raw == "1"
    if kind == "d":
        return datetime.datetime.fromisoformat(raw)
    raise ValueError(kind)


def _dimension(head: str) -> tuple[int, int]:
    if "<x:" in head or "<sheetData" not in head:
        raise Unsupported
    found = _DIMENSION.search(head)
    if found is None or found.group(3) is None:  # absent, or one cell: not to be trusted
        raise Unsupported
    first, last = _column(found.group(1)), _column(found.group(3))
    return first, last - first + 1


@dataclass(frozen=True, slots=True)
class _Sheet:
    strings: Sequence[str]  # the shared strings read so far
    more: Callable[[int], str]  # a shared string further on
    kinds: dict[int, str]  # the date kind of each cell style that has one
    base: datetime.datetime  # serial 0
    first: int  # the first column (0 for A)
    width: int  # columns from the first to the last

    def value(self, kind: str, style: str, raw: str) -> Any:
        """The value of a cell other than an inline string, from its type, style and ``<v>``."""
        if kind == "s":
            return self.more(int(raw))
        if not kind or kind == "n":
            number = float(raw)
            date_kind = self.kinds.get(int(style)) if style else None
            return _moment(number, date_kind, self.base) if date_kind else number
        return _typed(kind, raw)


def _put(row: list[Any], index: int, value: Any) -> None:
    """``value`` into column ``index`` of ``row`` (left of the sheet's first column: dropped;
    right of its last: the row grows and the row count check reports it)."""
    if index >= len(row):
        row.extend([""] * (index - len(row) + 1))
    if index >= 0:
        row[index] = value


def _cells(body: str, sheet: _Sheet) -> list[Any]:
    """One row's cells, read whatever way they are written (any attribute order, no
    references)."""
    cells: list[Any] = [""] * sheet.width
    position = sheet.first - 1
    for attributes, content in _CELL.findall(body):
        kind = style = ""
        reference = ""
        for name, value in _ATTRIBUTE.findall(attributes):
            if name == "r":
                reference = value
            elif name == "t":
                kind = value
            else:
                style = value
        if reference:
            position = _column(reference.rstrip("0123456789"))
        else:
            position += 1
        if not content:
            continue
        if kind == "inlineStr":
            value: Any = _text(content)
        elif found := _VALUE.search(content):
            value = sheet.value(kind, style, found.group(1))
        else:
            continue
        _put(cells, position - sheet.first, value)
    return cells


def _moment(serial: float, kind: str, base: datetime.datetime) -> Any:
    try:  # to the millisecond, as a spreadsheet shows it
        moment = base + datetime.timedelta(milliseconds=round(serial * 86_400_000))
    except OverflowError:
        return serial
    if kind == "date" and moment.time() == datetime.time():
        return moment.date()
    if kind == "time" and serial < 1:
        return moment.time()
    return moment
