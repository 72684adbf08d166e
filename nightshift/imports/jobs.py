"""One file being imported: its rows, its columns, its mapping and the loader that writes it;
and the error file made of its rejected rows.

Both the file import process (a batch of rows per engine batch) and the watched-folder process
(a whole file at a time) work through a ``FileJob``.
"""

from __future__ import annotations

import csv
import datetime
import pickle
import tempfile
from collections.abc import Callable, Collection, Iterator, Mapping
from itertools import islice
from pathlib import Path
from typing import Any

from django.core.files import File
from django.utils.translation import gettext as _

from nightshift.imports.loading import REJECT, Loader, Options, Prepared, RowResult
from nightshift.imports.mapping import column_names, resolve_mapping, suggest_mapping
from nightshift.imports.reading import FileProblem, Layout, Source, inspect
from nightshift.imports.registry import Importer

__all__ = ["FileJob", "error_file_name", "write_error_file"]

ERROR_COLUMN = "Error"  # header of the column the error file adds (stable across languages)
# The cells of rejected rows kept for the error file, up to this many (2 to 5 MB, pickled a
# batch at a time: kept as they were, a few rows among each batch's thousands would hold on
# to the memory around them): the file need not be read again for them. Past it, or after a
# resume, it is.
KEPT_CELLS = 200_000


class FileJob:
    """A file ready to import: raises ``FileProblem`` when it cannot be read and
    ``MappingProblem`` when its columns cannot be mapped."""

    def __init__(
        self,
        importer: Importer,
        path: str | Path,
        options: Options,
        *,
        mapping: Mapping[str, str] | None = None,
        sheet: str = "",
        layout: Layout | None = None,
        code_prefix: str = "",
    ) -> None:
        self.importer = importer
        self.options = options
        self.layout = layout or inspect(path, sheet=sheet)
        self.source = Source(path, self.layout)
        first = next(self.source.rows(), None)
        if first is None:
            raise FileProblem(_("The file has no rows."))
        self.header_row: list[Any] | None = list(first[1]) if options.header else None
        self.first_row_number = first[0]
        self.columns = column_names(first[1], header=options.header)
        self.suggested = mapping is None
        self.mapping = (
            dict(mapping) if mapping is not None else suggest_mapping(importer, self.columns)
        )
        resolved = resolve_mapping(importer, self.mapping, self.columns, fixed=options.fixed)
        self.loader = Loader(importer, self.columns, resolved, options, code_prefix=code_prefix)
        self._rows: Iterator[tuple[int, list[Any]]] | None = None
        self._position = -1
        self._rejected: list[bytes] | None = []  # pickled batches of them; None: too many
        self._rejected_numbers: set[int] = set()
        self._kept_cells = 0

    def data_rows(self, after: int = 0) -> Iterator[tuple[int, list[Any]]]:
        """The rows to import (the header excluded) numbered above ``after``."""
        for number, cells in self.source.rows():
            if self.header_row is not None and number == self.first_row_number:
                continue
            if number > after:
                yield number, cells

    def count(self, after: int = 0) -> int:
        """Rows above ``after``; reads the whole file, so a file broken further down fails
        here, before anything is written."""
        if after == 0:
            total = self.source.count() - (self.header_row is not None)
        else:
            total = sum(1 for _row in self.data_rows(after))
        if total == 0 and after == 0:
            raise FileProblem(
                _("The file has a header but no rows to import.")
                if self.header_row is not None
                else _("The file has no rows.")
            )
        return total

    def next_rows(self, after: int, limit: int) -> list[tuple[int, list[Any]]]:
        """The next ``limit`` rows above ``after``. Reading goes on from where the previous
        call stopped; a call from elsewhere (a resumed run) reads the file again from the
        start, noting the codes of the rows already imported."""
        if self._rows is None or self._position != after:
            self._rows = self._resume(after)
        batch = list(islice(self._rows, limit))
        if batch:
            self._position = batch[-1][0]
        return batch

    def _resume(self, after: int) -> Iterator[tuple[int, list[Any]]]:
        rows = self.data_rows()
        if after > 0:
            self.loader.seen.clear()
        for number, cells in rows:
            if number <= after:
                self.loader.remember([(number, cells)])
                continue
            yield number, cells
            break
        yield from rows

    def prepared_rows(
        self, after: int, limit: int, *, look_up: bool = False
    ) -> tuple[list[tuple[int, list[Any]]], Prepared]:
        """The next ``limit`` rows above ``after`` and what ``Loader.prepare`` makes of them."""
        rows = self.next_rows(after, limit)
        return rows, self.loader.prepare(rows, look_up=look_up)

    def load(
        self,
        rows: list[tuple[int, list[Any]]],
        prepared: Prepared | None = None,
        *,
        sent: Callable[[], None] | None = None,
    ) -> list[RowResult]:
        results = self.loader.load(rows, prepared, sent=sent)
        self._keep_rejected(rows, results)
        return results

    def _keep_rejected(self, rows: list[tuple[int, list[Any]]], results: list[RowResult]) -> None:
        if self._rejected is None:
            return
        numbers = {result.row for result in results if result.action == REJECT}
        kept = [(number, cells) for number, cells in rows if number in numbers]
        self._kept_cells += sum(len(cells) for _number, cells in kept)
        if self._kept_cells > KEPT_CELLS:
            self._rejected = None
        elif kept:
            self._rejected.append(pickle.dumps(kept, protocol=pickle.HIGHEST_PROTOCOL))
            self._rejected_numbers.update(numbers)

    def rejected_rows(self, numbers: Collection[int]) -> Iterator[tuple[int, list[Any]]]:
        """The rows ``numbers`` (rejected ones), in order: as kept when this job rejected
        each of them, else read from the file again."""
        if self._rejected is None or not self._rejected_numbers.issuperset(numbers):
            return self.source.rows(only=numbers)
        kept = {}
        for batch in self._rejected:
            # Pickled here, by this job.
            kept.update(pickle.loads(batch))  # noqa: S301
        return ((number, kept[number]) for number in sorted(numbers))


def error_file_name(upload_name: str, fmt: str) -> str:
    """``contacts.xlsx`` → ``contacts.errors.xlsx``; .xls and .ods give .xlsx."""
    stem = Path(upload_name).stem or "import"
    return f"{stem}.errors.{'csv' if fmt == 'csv' else 'xlsx'}"


def write_error_file(job: FileJob, rejected: Mapping[int, str], destination: Path) -> None:
    """The rejected rows of ``job``'s file, as they were, with an error column: CSV in the
    upload's delimiter and encoding, or XLSX for any spreadsheet."""
    rows = job.rejected_rows(rejected)
    if job.layout.format == "csv":
        _write_csv(job, rows, rejected, destination)
    else:
        _write_xlsx(job, rows, rejected, destination)


def _write_csv(job: FileJob, rows, rejected: Mapping[int, str], destination: Path) -> None:
    encoding = job.layout.encoding
    if encoding in ("utf-16-le", "utf-16-be"):
        encoding = "utf-16"  # with a byte-order mark, so that it reads back
    with destination.open("w", encoding=encoding, errors="replace", newline="") as stream:
        writer = csv.writer(stream, delimiter=job.layout.delimiter)
        if job.header_row is not None:
            writer.writerow([*job.header_row, ERROR_COLUMN])
        for number, cells in rows:
            writer.writerow([*cells, rejected[number]])


def _write_xlsx(job: FileJob, rows, rejected: Mapping[int, str], destination: Path) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(destination), {"constant_memory": True})
    try:
        sheet = workbook.add_worksheet(job.layout.sheet[:31] or "Errors")
        dates = workbook.add_format({"num_format": "yyyy-mm-dd"})
        moments = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        line = 0
        if job.header_row is not None:
            _write_cells(sheet, line, [*job.header_row, ERROR_COLUMN], dates, moments)
            line += 1
        for number, cells in rows:
            _write_cells(sheet, line, [*cells, rejected[number]], dates, moments)
            line += 1
    finally:
        workbook.close()


def _write_cells(sheet, line: int, cells: list[Any], dates, moments) -> None:
    for column, cell in enumerate(cells):
        if isinstance(cell, str):
            # write_string: "00123" and "=1+1" stay text, never a number or a formula.
            if cell:
                sheet.write_string(line, column, cell)
        elif isinstance(cell, bool):
            sheet.write_boolean(line, column, cell)
        elif isinstance(cell, int | float):
            sheet.write_number(line, column, cell)
        elif isinstance(cell, datetime.datetime):
            sheet.write_datetime(line, column, cell, moments)
        elif isinstance(cell, datetime.date):
            sheet.write_datetime(line, column, cell, dates)
        elif cell is not None:
            sheet.write_string(line, column, str(cell))


def save_error_file(job: FileJob, rejected: Mapping[int, str], field_file, name: str) -> None:
    """Write the error file and store it in ``field_file`` (replacing any earlier one, so
    that building it again after a crash gives the same file)."""
    if field_file:
        field_file.delete(save=False)
    if not rejected:
        field_file.instance.save()
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        write_error_file(job, rejected, path)
        with path.open("rb") as stream:
            field_file.save(name, File(stream), save=True)
