"""Both formats read back with the readers a user would use, and formula injection
neutralised in both."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from nightshift.exports.base import neutralise
from nightshift.exports.files import compress, crc32_combine, render_xlsx_rows
from nightshift.exports.models import ChunkKind, ExportChunk, ExportFile
from nightshift.exports.processes import ExportProcess
from nightshift.runs.models import RunState
from tests.exports.conftest import file_bytes, read_csv, read_xlsx

pytestmark = pytest.mark.django_db

DANGEROUS = ["=1+2", "+5511999", "-3+4", "@SUM(A1)", "\tTAB", "\rCR", '=HYPERLINK("http://x")']


@pytest.fixture
def hostile(contacts):
    return [contacts(1, last_name=text, city="safe", phone="12")[0] for text in DANGEROUS]


def test_csv_neutralises_formula_triggers_with_an_apostrophe(export, hostile):
    run = export("contacts", columns=["code", "last_name", "city"])
    rows = read_csv(file_bytes(run))[1:]
    assert [row[1] for row in rows] == ["'" + text for text in DANGEROUS]
    assert {row[2] for row in rows} == {"safe"}


def test_xlsx_neutralises_formula_triggers_and_writes_no_formula(export, hostile, tmp_path):
    run = export("contacts", file_type="xlsx", columns=["code", "last_name"])
    data = file_bytes(run)
    rows = read_xlsx(data, tmp_path)[1:]
    assert [row[1] for row in rows] == ["'" + text for text in DANGEROUS]
    import io
    import zipfile

    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet


def test_the_python_rule_matches_the_sql_rule():
    assert [neutralise(text) for text in DANGEROUS] == ["'" + text for text in DANGEROUS]
    assert neutralise("plain") == "plain"


def test_csv_reads_back_quoted_text_with_commas_quotes_and_newlines(export, contacts):
    contacts(1, address='Rua "A", 1\nApto 2', last_name="Çé ñ")
    rows = read_csv(file_bytes(export("contacts", columns=["address", "last_name"])))
    assert rows[1] == ['Rua "A", 1\nApto 2', "Çé ñ"]


def test_xlsx_has_typed_cells_a_header_and_every_row(export, crm, tmp_path):
    run = export("contacts", file_type="xlsx", batch_size=1)
    assert run.state == RunState.COMPLETED
    export_file = ExportFile.objects.get(run=run)
    assert export_file.file_name.endswith(".xlsx")
    assert export_file.rows == 2
    rows = read_xlsx(file_bytes(run), tmp_path)
    header, alice, bob = rows
    alice = dict(zip(header, alice, strict=True))
    assert alice["Code"] == "ALICE"
    assert alice["Birth date"] == datetime.date(1980, 5, 17) or alice["Birth date"] == (
        datetime.datetime(1980, 5, 17)
    )
    assert alice["Accumulated purchase amount"] == 1500.5
    assert dict(zip(header, bob, strict=True))["Company name"] == "Bob & Co <Ltd>"


def test_xlsx_datetimes_are_local_wall_time(export, crm, tmp_path, settings):
    rows = read_xlsx(
        file_bytes(export("vouchers", file_type="xlsx", columns=["code", "redeemed_at"])),
        tmp_path,
    )
    redeemed = rows[2][1]
    expected = timezone.make_aware(datetime.datetime(2025, 3, 4, 10, 30))
    assert redeemed == timezone.localtime(expected).replace(tzinfo=None)


def test_xlsx_booleans_are_boolean_cells(export, crm, tmp_path):
    rows = read_xlsx(
        file_bytes(export("products", file_type="xlsx", columns=["code", "is_active"])), tmp_path
    )
    assert {row[0]: row[1] for row in rows[1:]} == {"P-100": True, "P-SVC": True, "P-OLD": False}


def test_an_export_with_no_records_has_only_the_header(export, db, tmp_path):
    run = export("vouchers")
    assert (run.state, run.total) == (RunState.COMPLETED, 0)
    assert len(read_csv(file_bytes(run))) == 1
    assert len(read_xlsx(file_bytes(export("vouchers", file_type="xlsx")), tmp_path)) == 1


AWKWARD_XML = [
    'a & b <c> "d"',
    "line\nbreak",
    "carriage\rreturn",
    "tab\there",
    "ctrl\x01\x02\x1fend",
    "",
    "Çé ñ",
]


def test_xlsx_text_escapes_markup_and_drops_what_xml_cannot_hold(export, contacts, tmp_path):
    for text in AWKWARD_XML:
        contacts(1, last_name=text, city=text)
    run = export("contacts", file_type="xlsx", columns=["last_name", "code", "city"])
    rows = read_xlsx(file_bytes(run), tmp_path)[1:]
    expected = [
        text.replace("\x01", "").replace("\x02", "").replace("\x1f", "") for text in AWKWARD_XML
    ]
    assert [row[0] for row in rows] == expected
    assert [row[2] for row in rows] == expected


def test_a_workbook_is_a_head_its_row_segments_and_a_tail(export, contacts, tmp_path):
    import io
    import zipfile

    made = contacts(25)
    run = export("contacts", file_type="xlsx", batch_size=10)
    data = file_bytes(run)
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None  # every CRC checks out
    assert [row[0] for row in read_xlsx(data, tmp_path)[1:]] == [c.code for c in made]
    chunks = ExportChunk.objects.filter(run=run)
    assert set(chunks.values_list("kind", flat=True)) == {ChunkKind.ROWS}
    assert chunks.count() == 3 + 2  # three batches between the head and the tail
    assert ExportFile.objects.get(run=run).size == len(data)


def test_a_workbook_whose_rows_were_stored_before_segments_is_finished_as_before(
    export, contacts, tmp_path
):
    """Rows an older version stored (zstd-compressed XML, no CRC) still make a workbook."""
    made = contacts(3)
    run = export("contacts", file_type="xlsx", columns=["code"], batch_size=2)
    ExportFile.objects.filter(run=run).delete()
    ExportChunk.objects.filter(run=run).delete()
    for batch in (made[:2], made[2:]):
        xml = render_xlsx_rows([[contact.code] for contact in batch], ["text"])
        ExportChunk.objects.create(
            run=run, kind=ChunkKind.ROWS, seq=batch[0].pk, rows=len(batch), size=len(xml),
            data=compress(xml),
        )  # fmt: skip
    ExportProcess().complete(run.definition.parameters, as_of=run.as_of, run_number=run.pk)
    assert ExportChunk.objects.filter(run=run, kind=ChunkKind.FILE).exists()
    rows = read_xlsx(file_bytes(run), tmp_path)
    assert rows == [["Code"], *([contact.code] for contact in made)]


def test_crc32_combine_is_the_crc_of_the_joined_bytes():
    import random
    import zlib

    generator = random.Random(4)
    for _ in range(20):
        first = generator.randbytes(generator.randrange(0, 3000))
        second = generator.randbytes(generator.randrange(0, 3000))
        combined = crc32_combine(zlib.crc32(first), zlib.crc32(second), len(second))
        assert combined == zlib.crc32(first + second)
