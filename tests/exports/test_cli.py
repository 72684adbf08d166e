"""``nightshift export``: --inline, --json, filters, columns, errors, --run, --list."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from tests.exports.conftest import read_csv, read_xlsx

pytestmark = pytest.mark.django_db


@pytest.fixture
def nightshift(operator):
    def run(*args: str):
        out = io.StringIO()
        call_command(*args, "--user", "olivia", stdout=out, stderr=io.StringIO())
        return json.loads(out.getvalue()) if "--json" in args else out.getvalue()

    return run


def test_export_inline_writes_the_file_and_prints_the_summary_as_json(nightshift, crm, tmp_path):
    target = tmp_path / "contacts.csv"
    summary = nightshift(
        "export", "contacts", "--format", "csv", "-o", str(target), "--inline",
        "--filter", "status=active", "--columns", "code,city", "--json",
    )  # fmt: skip
    assert summary["state"] == "completed"
    assert (summary["total"], summary["succeeded"], summary["failed"]) == (1, 1, 0)
    assert summary["process"] == "export"
    assert summary["file"]["rows"] == 1
    assert summary["output"] == str(target.resolve())
    assert read_csv(target.read_bytes()) == [["Code", "City"], ["ALICE", "São Paulo"]]


def test_export_with_output_runs_inline_by_default_and_prints_fields(nightshift, crm, tmp_path):
    target = tmp_path / "vouchers.xlsx"
    out = nightshift("export", "vouchers", "--format", "xlsx", "-o", str(target))
    assert "state:" in out
    assert "completed" in out
    assert [row[0] for row in read_xlsx(target.read_bytes(), tmp_path)] == ["Code", "V1", "V2"]


def test_a_repeated_filter_selects_either_value(nightshift, crm, tmp_path):
    target = tmp_path / "c.csv"
    nightshift(
        "export", "contacts", "-o", str(target), "--filter", "status=active",
        "--filter", "status=inactive", "--json",
    )  # fmt: skip
    assert len(read_csv(target.read_bytes())) == 3


def test_a_bad_filter_names_the_field_the_option_and_the_allowed_ones(nightshift):
    with pytest.raises(CommandError) as excinfo:
        nightshift("export", "contacts", "-o", "x.csv", "--filter", "colour=red")
    message = str(excinfo.value)
    assert "filters.colour (--filter)" in message
    assert "status" in message
    assert "birth_date" in message


def test_a_filter_without_a_value_says_how_to_write_it(nightshift):
    with pytest.raises(CommandError, match="FIELD=VALUE"):
        nightshift("export", "contacts", "--filter", "status")


def test_an_unknown_column_names_the_option(nightshift):
    with pytest.raises(CommandError, match=r"columns \(--columns\)"):
        nightshift("export", "contacts", "--columns", "code,nope", "-o", "x.csv")


def test_without_output_the_export_is_started_for_the_workers(nightshift, crm):
    summary = nightshift("export", "products", "--json")
    assert summary["state"] == "draft"
    assert summary["file"] is None


def test_run_downloads_the_file_of_an_export_already_run(nightshift, crm, tmp_path):
    first = tmp_path / "first.csv"
    number = nightshift("export", "products", "-o", str(first), "--json")["number"]
    again = tmp_path / "again.csv"
    summary = nightshift("export", "--run", str(number), "-o", str(again), "--json")
    assert summary["number"] == number
    assert again.read_bytes() == first.read_bytes()


def test_list_shows_every_entity_with_its_columns_and_filters(nightshift):
    entities = {e["key"]: e for e in nightshift("export", "--list", "--json")}
    assert {"contacts", "products", "vouchers", "payment_gateway_requests"} <= set(entities)
    assert "--filter state=" in nightshift("export", "--list")


def test_no_entity_lists_the_known_ones(nightshift):
    with pytest.raises(CommandError, match="payment_gateway_requests"):
        nightshift("export")
