"""Shared strings of big workbooks kept in a temporary file (``SpilledStrings``): the same
texts as the list a small workbook's are held in, whatever order they are asked for, in
memory that stays bounded; and sheet names read without calamine, which loads them all."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nightshift.crm.models import Contact
from nightshift.imports import reading, xlsx
from nightshift.imports.models import DataImport
from nightshift.imports.reading import FileProblem, Source, inspect
from nightshift.imports.xlsx import SpilledStrings
from tests.imports.files import read_sheet, xlsx_bytes
from tests.imports.test_import import HEADER, figures
from tests.imports.test_reading import _rich_workbook


@pytest.fixture
def small_groups(monkeypatch):
    """Groups of four texts, two groups and three older texts held: every path of a lookup
    (a group held, a newer group read, an older text read alone or held, evictions) is taken
    in a few dozen texts."""
    monkeypatch.setattr(SpilledStrings, "GROUP_BITS", 2)
    monkeypatch.setattr(SpilledStrings, "GROUP", 4)
    monkeypatch.setattr(SpilledStrings, "GROUPS_HELD", 2)
    monkeypatch.setattr(SpilledStrings, "TEXTS_HELD", 3)


@pytest.fixture
def spilled(monkeypatch, small_groups):
    """Every workbook's shared strings spilled to a file; the instances made, to look at."""
    monkeypatch.setattr(xlsx, "SPILL_BYTES", 0)
    made = []
    init = SpilledStrings.__init__

    def recording(self):
        init(self)
        made.append(self)

    monkeypatch.setattr(SpilledStrings, "__init__", recording)
    return made


def _spill(texts: list[str]) -> SpilledStrings:
    strings = SpilledStrings()
    for start in range(0, len(texts), 3):  # given a few at a time, as chunks of XML are
        strings.extend(texts[start : start + 3])
    strings.finish()
    return strings


@pytest.mark.usefixtures("small_groups")
@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(st.text(max_size=12), min_size=1, max_size=40),
    order=st.lists(st.integers(min_value=0, max_value=10**6), max_size=120),
)
def test_spilled_strings_answer_as_the_list_in_any_order(texts, order):
    strings = _spill(texts)
    try:
        assert len(strings) == len(texts)
        asked = [n % len(texts) for n in order] + list(range(len(texts)))
        assert [strings[n] for n in asked] == [texts[n] for n in asked]
    finally:
        strings.close()


@pytest.mark.usefixtures("small_groups")
def test_spilled_strings_keep_every_character_and_refuse_an_index_out_of_range():
    texts = ["", "Zoë", "🙂 emoji", "\ud800 lone surrogate", "tab\tand\nnewline", "x" * 5000, ""]
    strings = _spill(texts)
    assert [strings[n] for n in reversed(range(len(texts)))] == texts[::-1]
    for index in (-1, len(texts), 10**9):
        with pytest.raises(IndexError):
            strings[index]
    strings.close()


@pytest.mark.usefixtures("small_groups")
def test_spilled_strings_hold_only_a_few_groups_and_texts_however_they_are_read():
    texts = [f"text {n}" for n in range(200)]
    strings = _spill(texts)
    rng = random.Random(3)
    for n in range(len(texts)):  # new texts in order, older ones at random between them
        assert strings[n] == texts[n]
        old = rng.randrange(n + 1)
        assert strings[old] == texts[old]
    assert len(strings._groups) <= SpilledStrings.GROUPS_HELD
    assert len(strings._texts) <= SpilledStrings.TEXTS_HELD
    strings.close()


def _repeating_workbook(path, rows: int = 300) -> None:
    """Texts used once (names) and texts used again at random (cities, zip codes), as an
    Excel file of contacts has them: lookups of new and of older shared strings."""
    rng = random.Random(5)
    content = [["Code", "Name", "City", "Zip"]]
    for n in range(rows):
        content.append(
            [
                f"{n:05d}",
                f"Name {n} & “co”",
                rng.choice(["Recife", "Niterói"]),
                f"{rng.randrange(90):05d}",
            ]
        )
    path.write_bytes(xlsx_bytes(content))


@pytest.mark.parametrize("make", [_rich_workbook, _repeating_workbook])
def test_a_workbook_read_with_its_strings_spilled_reads_as_with_them_in_memory(
    tmp_path, monkeypatch, spilled, make
):
    path = tmp_path / "book.xlsx"
    make(path)
    sheet = "Contacts & Co" if make is _rich_workbook else "Sheet1"
    with monkeypatch.context() as in_memory:
        in_memory.setattr(xlsx, "SPILL_BYTES", 1 << 62)
        every = list(xlsx.iter_rows(str(path), sheet))
        chosen = {n for n, _cells in every[::7]}
        some = list(xlsx.iter_rows(str(path), sheet, only=chosen))
    assert not spilled
    assert list(xlsx.iter_rows(str(path), sheet)) == every
    assert list(xlsx.iter_rows(str(path), sheet, only=chosen)) == some
    assert len(spilled) == 2
    assert all(strings._file.closed for strings in spilled)  # the temporary file is gone


def test_the_first_rows_read_only_the_first_texts_and_a_read_left_halfway_cleans_up(
    tmp_path, monkeypatch, spilled
):
    monkeypatch.setattr(xlsx, "CHUNK", 512)  # the table read in many chunks
    path = tmp_path / "book.xlsx"
    _repeating_workbook(path)  # some 600 distinct texts
    rows = xlsx.iter_rows(str(path), "Sheet1")
    assert next(rows) == (1, ["Code", "Name", "City", "Zip"])
    assert 0 < len(spilled[0]) < 100  # read so far
    assert not spilled[0]._file.closed
    rows.close()
    assert spilled[0]._file.closed


def test_an_import_of_a_workbook_with_spilled_strings_lands_and_reports_as_any(run_import, spilled):
    rows = [HEADER]
    for n in range(40):
        email = "bad" if n % 9 == 4 else f"p{n}@example.com"
        rows.append([f"{n:05d}", f"Name{n}", "Lima", email, "", f"{n % 5:05d}"])
    run = run_import(xlsx_bytes(rows), name="people.xlsx", batch_size=8)
    assert figures(run) == {"rows": 40, "created": 36, "updated": 0, "rejected": 4}
    assert Contact.objects.get(code="00012").zip_code == "00002"
    assert spilled
    assert all(strings._file.closed for strings in spilled)
    error_file = read_sheet(DataImport.objects.get(run=run).error_file.read())
    assert [row[:4] for row in error_file[1:]] == [
        [f"{n:05d}", f"Name{n}", "Lima", "bad"] for n in (4, 13, 22, 31)
    ]


def test_an_xlsx_is_inspected_without_calamine(tmp_path, monkeypatch):
    path = tmp_path / "book.xlsx"
    path.write_bytes(xlsx_bytes([["Code"], ["C1"]], sheets={"Q&A “2026”": [["x", "y"]]}))

    def refuse(*_args):
        raise AssertionError("calamine opened the workbook")

    monkeypatch.setattr("python_calamine.CalamineWorkbook.from_path", refuse)
    layout = inspect(path, sheet="Q&A “2026”")
    assert layout.sheets == ["Sheet1", "Q&A “2026”"]
    assert list(Source(path, layout).rows()) == [(1, ["x", "y"])]
    with pytest.raises(FileProblem, match="has no sheet “Other”; its sheets are: Sheet1, Q&A"):
        inspect(path, sheet="Other")
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(FileProblem, match="damaged or incomplete"):
        reading.inspect(damaged)
