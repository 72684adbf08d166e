"""Reading files: every format and encoding, delimiters, quoted newlines, spreadsheet cells,
and the files that cannot be read at all."""

from __future__ import annotations

import datetime
import gc
import re
import zipfile
from itertools import islice

import pytest

from nightshift.imports import reader_process, reading, xlsx
from nightshift.imports.reading import CHILD_READER_BYTES, FileProblem, Source, inspect
from tests.imports.files import FIXTURES, csv_bytes, ods_bytes, xlsx_bytes

ROWS = [["Código", "Nome", "Cidade"], ["00042", "José", "São Paulo"], ["00043", "Zoë", "Niterói"]]


def rows_of(path, **kwargs):
    layout = inspect(path, **kwargs)
    return layout, [cells for _n, cells in Source(path, layout).rows()]


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("utf-16", "utf-16"),
        ("utf-16-le", "utf-16-le"),
        ("cp1252", "cp1252"),
    ],
)
def test_csv_encodings_are_detected_and_accents_survive(tmp_path, encoding, detected):
    path = tmp_path / "f.csv"
    path.write_bytes(csv_bytes(ROWS, encoding=encoding))
    layout, rows = rows_of(path)
    assert layout.encoding == detected
    assert rows == ROWS


def test_latin_1_bytes_undefined_in_windows_1252_read_as_latin_1(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes("code,name\n1,Jos\xe9\x81\n".encode("latin-1"))
    layout, rows = rows_of(path)
    assert layout.encoding == "latin-1"
    assert rows[1] == ["1", "José\x81"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_sniffed(tmp_path, delimiter):
    path = tmp_path / "f.csv"
    path.write_bytes(csv_bytes([["a", "b, c", "d"], ["1", "2; 3", "4"]], delimiter=delimiter))
    layout, rows = rows_of(path)
    assert layout.delimiter == delimiter
    assert rows == [["a", "b, c", "d"], ["1", "2; 3", "4"]]


def test_quoted_fields_may_hold_newlines_and_row_numbers_count_records(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b'code,note\n1,"two\nlines"\n\n2,plain\n')
    layout = inspect(path)
    assert list(Source(path, layout).rows()) == [
        (1, ["code", "note"]),
        (2, ["1", "two\nlines"]),
        (4, ["2", "plain"]),
    ]


def test_xlsx_keeps_text_zeros_and_gives_real_dates(tmp_path):
    path = tmp_path / "f.xlsx"
    path.write_bytes(xlsx_bytes([["Code", "Born"], ["00042", datetime.date(1980, 2, 3)]]))
    layout, rows = rows_of(path)
    assert layout.format == "xlsx"
    assert rows == [["Code", "Born"], ["00042", datetime.date(1980, 2, 3)]]


def test_a_chosen_sheet_is_read_instead_of_the_first(tmp_path):
    path = tmp_path / "f.xlsx"
    path.write_bytes(xlsx_bytes([["x"]], sheets={"Second": [["Code"], ["C9"]]}))
    layout, rows = rows_of(path, sheet="Second")
    assert layout.sheets == ["Sheet1", "Second"]
    assert rows == [["Code"], ["C9"]]


def test_an_unknown_sheet_is_refused_naming_the_sheets(tmp_path):
    path = tmp_path / "f.xlsx"
    path.write_bytes(xlsx_bytes([["x"]]))
    with pytest.raises(FileProblem, match="no sheet “Nope”; its sheets are: Sheet1"):
        inspect(path, sheet="Nope")


def test_xls_fixture_is_read_with_dates_serials_and_zeros():
    layout, rows = rows_of(FIXTURES / "contacts.xls")
    assert layout.format == "xls"
    assert rows[1][0] == "00042"
    assert rows[1][4] == datetime.date(1980, 2, 3)
    assert rows[3][4] == 29221  # a date typed as a serial number


def test_ods_is_read(tmp_path):
    path = tmp_path / "f.ods"
    path.write_bytes(ods_bytes([["Code", "Born"], ["00042", datetime.date(1980, 2, 3)]]))
    layout, rows = rows_of(path)
    assert layout.format == "ods"
    assert rows == [["Code", "Born"], ["00042", datetime.date(1980, 2, 3)]]


def test_the_format_comes_from_the_content_not_the_name(tmp_path):
    path = tmp_path / "spreadsheet.csv"
    path.write_bytes(xlsx_bytes([["Code"], ["C1"]]))
    assert inspect(path).format == "xlsx"


@pytest.mark.parametrize(
    "content",
    [b"%PDF-1.4 binary", b"\x89PNG\r\n\x1a\nxxxx", b"\x00\x01\x02\x03binary\x00\x00\x05"],
)
def test_a_file_that_is_not_a_spreadsheet_is_refused(tmp_path, content):
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    with pytest.raises(FileProblem, match="not a CSV file or a spreadsheet"):
        inspect(path)


def test_a_zip_that_is_not_a_spreadsheet_is_refused(tmp_path):
    import zipfile

    path = tmp_path / "f.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(FileProblem, match="not a CSV file or a spreadsheet"):
        inspect(path)


def test_a_truncated_xlsx_is_reported_as_damaged(tmp_path):
    path = tmp_path / "f.xlsx"
    content = xlsx_bytes([["Code"], *[[f"C{n}"] for n in range(500)]])
    path.write_bytes(content[: len(content) // 2])
    with pytest.raises(FileProblem, match="damaged or incomplete"):
        inspect(path)


@pytest.mark.parametrize(
    "content",
    [
        b"code,note\r\n1,a\r\n,,\r\n\r\n2, \r\n3,last",  # no quote at all, blank rows
        b'code,note\n1,a\n\n2,b\n3,"x,\ny"\n\n4,d\n5,e\n',  # a quote further down
        b"code;note\r1;a\r;\r2;b\r",  # old Mac line ends
    ],
)
def test_counting_and_reading_chosen_rows_agree_with_reading_every_row(tmp_path, content):
    # Counting and the error file skip over rows without parsing them while no quote has
    # appeared; they must find the rows, and their numbers, that reading every row finds.
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    source = Source(path, inspect(path))
    every = list(source.rows())
    assert source.count() == len(every)
    for only in ({1, 3, 4}, {2, 5, 7, 8}, {6}, set(range(1, 10))):
        assert list(source.rows(only=only)) == [(n, cells) for n, cells in every if n in only]


def test_a_csv_cut_inside_a_quoted_value_fails_naming_the_row(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b'code,note\n1,ok\n2,"cut sho')
    layout = inspect(path)
    with pytest.raises(FileProblem, match="Row 3 cannot be read"):
        list(Source(path, layout).rows())
    with pytest.raises(FileProblem, match="Row 3 cannot be read"):
        Source(path, layout).count()


def test_an_empty_file_is_refused(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"")
    with pytest.raises(FileProblem, match="The file is empty"):
        inspect(path)


def test_a_file_over_the_limit_is_refused_with_both_sizes(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"code\n" + b"C1\n" * 1000)
    with pytest.raises(FileProblem, match=r"The file is 0\.0 MB; files up to 0\.0 MB"):
        inspect(path, limit=100)


def test_invalid_bytes_further_down_a_utf16_file_fail_naming_the_row(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(csv_bytes(ROWS, encoding="utf-16") + b"\x00\xd8")
    layout = inspect(path)
    with pytest.raises(FileProblem, match="not valid utf-16 text"):
        list(Source(path, layout).rows())


def _rich_workbook(path, *, date_1904: bool = False) -> None:
    """A workbook as Excel writes them: shared strings (some rich), formats that are dates,
    date-times and times, data starting at C3 with gaps, a formula, booleans."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"date_1904": date_1904})
    bold = workbook.add_format({"bold": True})
    formats = {
        "date": workbook.add_format({"num_format": "dd/mm/yyyy"}),
        "builtin": workbook.add_format({"num_format": 14}),
        "moment": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
        "time": workbook.add_format({"num_format": "hh:mm"}),
        "money": workbook.add_format({"num_format": '"R$" #,##0.00;[Red]-"R$" #,##0.00'}),
    }
    workbook.add_worksheet("Notes").write_string(0, 0, "not this one")
    sheet = workbook.add_worksheet("Contacts & Co")
    sheet.write_row(2, 2, ["Code", "Name", "Born", "Seen", "At", "Paid", "Active", "Sum"])
    for n in range(40):
        line = 3 + n + n // 10  # a blank row every ten
        sheet.write_string(line, 2, f"{n:05d}")
        sheet.write_rich_string(line, 3, "Zoë ", bold, "<& “Niterói”>", f" {n}")
        sheet.write_datetime(
            line, 4, datetime.date(1980, 1, 1) + datetime.timedelta(n), formats["date"]
        )
        sheet.write_datetime(line, 5, datetime.date(2020, 5, 6), formats["builtin"])
        sheet.write_datetime(line, 6, datetime.datetime(2026, 3, 4, 5, 6, n), formats["moment"])
        sheet.write_number(line, 7, 1234.5 + n, formats["money"])
        sheet.write_boolean(line, 8, n % 2 == 0)
        sheet.write_formula(line, 9, f"=H{line + 1}*2", None, (1234.5 + n) * 2)
        if n % 7 == 0:
            sheet.write_datetime(line, 10, datetime.time(13, 45), formats["time"])
    workbook.close()


@pytest.mark.parametrize("date_1904", [False, True])
def test_an_xlsx_sheet_is_streamed_with_the_values_calamine_reads(tmp_path, date_1904):
    from python_calamine import CalamineWorkbook

    path = tmp_path / "rich.xlsx"
    _rich_workbook(path, date_1904=date_1904)
    layout = inspect(path, sheet="Contacts & Co")
    source = Source(path, layout)
    assert source.streamed()
    streamed = list(source.rows())
    assert source.count() == len(streamed) == 41
    assert list(source.rows(only={4, 15, 99})) == [streamed[1], streamed[11]]
    # Read by the streaming reader itself, not handed to calamine:
    assert streamed == [row for row in xlsx.iter_rows(str(path), layout.sheet) if any(row[1])]
    with CalamineWorkbook.from_path(str(path)) as workbook:
        whole = workbook.get_sheet_by_name("Contacts & Co").to_python()
    expected = [row for row in whole if any(cell != "" for cell in row)]
    assert [cells for _n, cells in streamed] == expected
    # Row numbers are those the spreadsheet shows: the header on row 3, a gap every ten.
    assert [n for n, _cells in streamed][:3] == [3, 4, 5]
    assert streamed[11] == (15, streamed[11][1])
    first = streamed[1][1]
    assert first[:3] == ["00000", "Zoë <& “Niterói”> 0", datetime.date(1980, 1, 1)]
    assert first[3:] == [
        datetime.date(2020, 5, 6),
        datetime.datetime(2026, 3, 4, 5, 6, 0),
        1234.5,
        True,
        2469.0,
        datetime.time(13, 45),
    ]


def _rich_workbook_changed(tmp_path, change) -> Source:
    """The rich workbook with its contacts worksheet's XML passed through ``change``."""
    import zipfile

    source = tmp_path / "rich.xlsx"
    _rich_workbook(source)
    path = tmp_path / "changed.xlsx"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(path, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            new.writestr(
                item, change(data) if item.filename == "xl/worksheets/sheet2.xml" else data
            )
    return Source(path, inspect(path, sheet="Contacts & Co"))


@pytest.mark.parametrize(
    ("pattern", "replacement"),
    [
        (rb"<dimension [^>]*/>", b""),  # no dimension: calamine reads the sheet
        (rb'<c r="[A-Z]+\d+"', b"<c"),  # cells without their reference: read one by one
    ],
)
def test_worksheets_written_otherwise_are_still_read(tmp_path, pattern, replacement):
    source = _rich_workbook_changed(tmp_path, lambda xml: re.sub(pattern, replacement, xml))
    rows = [cells for _n, cells in source.rows()]
    assert len(rows) == 41
    assert rows[1][:3] == ["00000", "Zoë <& “Niterói”> 0", datetime.date(1980, 1, 1)]


@pytest.mark.parametrize(
    "change",
    [
        lambda xml: xml,
        lambda xml: xml.replace(b'<row r="20"', b'<row spans="1:9" r="20"'),  # r not first
        lambda xml: xml.replace(b'<row r="15"', b'<row r="14" spans="1:2"/><row r="15"'),
    ],
)
def test_chosen_rows_are_the_rows_reading_every_row_gives(tmp_path, monkeypatch, change):
    # The error file picks the rejected rows out of the worksheet by their row tags; read a
    # few hundred characters at a time, rows fall across chunks.
    source = _rich_workbook_changed(tmp_path, change)
    monkeypatch.setattr(xlsx, "CHUNK", 300)
    every = list(source.rows())
    numbers = [n for n, _cells in every]
    assert 14 not in numbers
    for only in ({numbers[0]}, set(numbers[::3]), {numbers[-1], 14, 999}, set(range(60))):
        assert list(source.rows(only=only)) == [(n, c) for n, c in every if n in only]


def test_a_worksheet_damaged_inside_is_reported_as_damaged(tmp_path):
    source = _rich_workbook_changed(
        tmp_path, lambda xml: xml.replace(b"<v>1234.5</v>", b"<v>12x4.5</v>")
    )
    with pytest.raises(FileProblem, match="damaged or incomplete"):
        list(source.rows())


def test_a_streamed_worksheet_cut_short_fails_when_counted(tmp_path):
    # The XML stops halfway through the rows, inside an archive that is whole.
    source = _rich_workbook_changed(tmp_path, lambda xml: xml[: len(xml) // 2])
    with pytest.raises(FileProblem, match="damaged or incomplete"):
        source.count()


# -- the worksheet read by a child process --------------------------------------------------


@pytest.fixture
def children(monkeypatch):
    """The reader processes started during the test (to see that each one was reaped); the
    child takes over the import's reading after its first 5 rows."""
    monkeypatch.setattr(reading, "IN_PROCESS_ROWS", 5)
    started = []
    popen = reader_process.subprocess.Popen

    def recording(*args, **kwargs):
        started.append(popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(reader_process.subprocess, "Popen", recording)
    return started


def _in_process(path, sheet):
    return [(n, cells) for n, cells in xlsx.iter_rows(str(path), sheet) if not xlsx.blank(cells)]


@pytest.mark.parametrize("date_1904", [False, True])
def test_the_child_process_reads_the_rows_read_in_process(tmp_path, settings, children, date_1904):
    path = tmp_path / "rich.xlsx"
    _rich_workbook(path, date_1904=date_1904)
    expected = _in_process(path, "Contacts & Co")
    # Several chunks, the last one short.
    chunks = list(reader_process.iter_chunks(str(path), "Contacts & Co", size=7))
    assert [len(chunk) for chunk in chunks] == [7] * 5 + [6]
    assert [row for chunk in chunks for row in chunk] == expected
    skipped = reader_process.iter_chunks(str(path), "Contacts & Co", size=7, skip=3)
    assert [row for chunk in skipped for row in chunk] == expected[3:]
    # Through the import's reading (its first 5 rows read in-process): the same rows, values
    # and types as calamine gives (the test above), so the same as in-process.
    settings.NIGHTSHIFT_IMPORT_CHILD_READER_BYTES = 0
    source = Source(path, inspect(path, sheet="Contacts & Co"))
    assert list(source.rows()) == expected
    assert len(children) == 3
    assert all(child.returncode == 0 for child in children)
    types = {type(cell) for _n, cells in expected for cell in cells}
    assert types == {str, float, bool, datetime.date, datetime.datetime, datetime.time}


def test_the_child_process_keeps_escaped_characters(tmp_path):
    path = tmp_path / "f.xlsx"
    texts = ["a_x000D_b", "_x0041_", "<&>", "“quoted”", " spaced ", "x\ny", "00123"]
    path.write_bytes(
        xlsx_bytes([["Code", "Note"], *[[f"C{n}", text] for n, text in enumerate(texts)]])
    )
    chunks = list(reader_process.iter_chunks(str(path), "Sheet1"))
    assert [row for chunk in chunks for row in chunk] == _in_process(path, "Sheet1")
    assert [cells[1] for _n, cells in chunks[0][1:]] == texts


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        # Both further down than the first 5 rows, read in-process.
        (lambda xml: xml.replace(b"<v>1254.5</v>", b"<v>12x4.5</v>"), ValueError, "12x4.5"),
        (lambda xml: xml[: len(xml) // 2], ValueError, "the worksheet ends before its rows do"),
    ],
)
def test_errors_in_the_child_process_are_raised_as_in_process(  # noqa: PLR0917 — parameters
    tmp_path, settings, children, change, error, message
):
    source = _rich_workbook_changed(tmp_path, change)
    path, sheet = str(source.path), source.layout.sheet
    with pytest.raises(error, match=message) as in_process:
        list(xlsx.iter_rows(path, sheet))
    with pytest.raises(error, match=message) as in_child:
        list(reader_process.iter_chunks(path, sheet))
    assert str(in_child.value) == str(in_process.value)
    assert "In the worksheet reader process" in in_child.value.__notes__[0]
    # And so the import reports the file as it does when reading in-process.
    settings.NIGHTSHIFT_IMPORT_CHILD_READER_BYTES = 0
    with pytest.raises(FileProblem, match="damaged or incomplete"):
        list(source.rows())
    assert all(child.returncode == 0 for child in children)


def test_an_unknown_sheet_and_a_broken_zip_fail_in_the_child_as_in_process(tmp_path):
    path = tmp_path / "f.xlsx"
    path.write_bytes(xlsx_bytes(ROWS))
    with pytest.raises(xlsx.Unsupported):
        next(reader_process.iter_chunks(str(path), "Nope"))
    path.write_bytes(b"PK\x03\x04 not a zip after all")
    with pytest.raises(zipfile.BadZipFile, match="File is not a zip file"):
        next(reader_process.iter_chunks(str(path), "Sheet1"))


def _content(rows: int) -> bytes:
    return xlsx_bytes([["Code", "Name"], *[[f"C{n}", f"Name {n}"] for n in range(rows)]])


@pytest.mark.parametrize("leave", ["close", "drop", "collect"])
def test_a_reader_left_before_the_end_leaves_no_process(tmp_path, children, leave):
    path = tmp_path / "f.xlsx"
    path.write_bytes(_content(5000))
    chunks = reader_process.iter_chunks(str(path), "Sheet1", size=10)
    assert len(next(chunks)) == 10
    (child,) = children
    stream = chunks.gi_frame.f_locals["reader"].stream
    if leave == "close":
        chunks.close()
    elif leave == "drop":
        del chunks
    else:  # in a reference cycle: the collector's finalizer stops it
        cycle = [chunks]
        cycle.append(cycle)
        del chunks, cycle
        gc.collect()
    assert child.returncode is not None  # ended and reaped: no zombie
    assert stream.closed


def test_an_import_reading_its_first_rows_leaves_no_process(tmp_path, settings, children):
    settings.NIGHTSHIFT_IMPORT_CHILD_READER_BYTES = 0
    path = tmp_path / "f.xlsx"
    path.write_bytes(_content(5000))
    source = Source(path, inspect(path))
    assert next(source.rows()) == (1, ["Code", "Name"])
    assert list(islice(source.rows(), 5))[-1] == (5, ["C3", "Name 3"])
    assert children == []  # the first rows are read in-process
    rows = source.rows()
    assert list(islice(rows, 10))[-1] == (10, ["C8", "Name 8"])
    rows.close()
    (child,) = children
    assert child.returncode is not None


def test_a_child_process_that_dies_is_reported_as_such(tmp_path, children):
    path = tmp_path / "f.xlsx"
    path.write_bytes(_content(5000))
    chunks = reader_process.iter_chunks(str(path), "Sheet1", size=10)
    next(chunks)
    children[0].kill()
    with pytest.raises(reader_process.ReaderStopped, match="exit code -9"):
        list(chunks)


def test_small_files_and_chosen_rows_are_read_in_process(tmp_path, settings, children):
    path = tmp_path / "f.xlsx"
    path.write_bytes(_content(50))
    source = Source(path, inspect(path))
    assert source.path.stat().st_size < CHILD_READER_BYTES
    assert len(list(source.rows())) == 51
    settings.NIGHTSHIFT_IMPORT_CHILD_READER_BYTES = 0
    assert list(source.rows(only={2, 3})) == [(2, ["C0", "Name 0"]), (3, ["C1", "Name 1"])]
    assert source.count() == 51
    settings.NIGHTSHIFT_IMPORT_CHILD_READER_BYTES = None
    assert len(list(source.rows())) == 51
    assert children == []
