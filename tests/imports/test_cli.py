"""``nightshift import`` and ``nightshift import-template``."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from nightshift.crm.models import Contact
from tests.imports.files import csv_bytes, read_sheet


def run(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue()


@pytest.fixture
def people(tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(
        csv_bytes(
            [
                ["Ref", "Given Name", "E-mail 1 - Value"],
                ["C1", "Ana", "ana@example.com"],
                ["C2", "Bia", "bad"],
            ]
        )
    )
    return path


def test_without_map_the_suggestion_is_applied_and_printed(people, operator, scheduler_running):
    output = run("import", "contacts", str(people), "--inline", "--user", operator.username)
    assert "Mapping (column → field):\n  Given Name → first_name\n  E-mail 1 - Value → email" in (
        output
    )
    assert "Not imported: Ref" in output
    assert "created:       1" in output
    assert "rejected:      1" in output
    assert Contact.objects.get().code.startswith("I")


def test_map_overrides_single_columns_and_json_has_the_import_figures(
    people, operator, scheduler_running
):
    output = run(
        "import",
        "contacts",
        str(people),
        "--map",
        "Ref=code",
        "--inline",
        "--json",
        "--user",
        operator.username,
    )
    summary = json.loads(output)
    assert (summary["created"], summary["updated"], summary["rejected"]) == (1, 0, 1)
    assert summary["error_file"].endswith("/error-file/")
    assert Contact.objects.get().code == "C1"
    again = json.loads(
        run(
            "import",
            "contacts",
            str(people),
            "--map",
            "Ref=code",
            "--update-existing",
            "--set",
            "city=Recife",
            "--inline",
            "--json",
            "--user",
            operator.username,
        )
    )
    assert (again["created"], again["updated"]) == (0, 1)
    assert Contact.objects.get().city == "Recife"


def test_a_map_to_a_column_the_file_lacks_names_its_columns(people, operator):
    with pytest.raises(CommandError, match="no column “Nope”; its columns are: “Ref”"):
        run("import", "contacts", str(people), "--map", "Nope=code", "--user", operator.username)


def test_a_failed_import_prints_the_summary_and_exits_non_zero(
    tmp_path, operator, scheduler_running
):
    path = tmp_path / "products.csv"
    path.write_bytes(csv_bytes([["Ref"], ["P1"]]))
    with pytest.raises(CommandError, match="Required field “Name” \\(name\\) is not mapped"):
        run("import", "products", str(path), "--inline", "--user", operator.username)


def test_import_template_writes_csv_and_xlsx_with_the_fields_described(tmp_path):
    csv_path, xlsx_path = tmp_path / "t.csv", tmp_path / "t.xlsx"
    run("import-template", "devices", "--format", "csv", "-o", str(csv_path))
    lines = csv_path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("Serial number,Product,Location / warehouse")
    assert lines[1].startswith("SN000001,P-0001,WH-MAIN")
    run("import-template", "devices", "--format", "xlsx", "-o", str(xlsx_path))
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(xlsx_path))
    fields = workbook.get_sheet_by_name("Fields").to_python()
    assert fields[0] == ["Column", "Field", "Type", "Required", "Allowed values", "Description"]
    state = next(row for row in fields if row[1] == "state")
    assert state[2:5] == ["choice", "no", "in_stock, installed, returned, scrapped"]
    assert read_sheet(xlsx_path)[0][0] == "Serial number"
