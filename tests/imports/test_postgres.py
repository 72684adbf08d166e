"""The PostgreSQL write path: COPY into the staging table, then INSERT … ON CONFLICT."""

from __future__ import annotations

import datetime

import pytest

from nightshift.crm.models import Contact
from nightshift.runs.models import RunItem, RunState
from tests.imports.files import csv_bytes

pytestmark = pytest.mark.postgres


def test_copy_and_upsert_create_update_and_reject_across_batches(run_import):
    Contact.objects.bulk_create(Contact(code=f"C{n}", first_name="Old") for n in range(0, 30, 3))
    rows = [["Code", "First name", "E-mail", "Birth date"]]
    for n in range(30):
        rows.append([f"C{n}", "New", "bad" if n % 10 == 1 else f"c{n}@example.com", "1980-02-03"])
    rows.append(["C2", "Again", "", ""])
    run = run_import(csv_bytes(rows), update_existing=True, batch_size=7)
    summary = run.summary()
    assert (summary["created"], summary["updated"], summary["rejected"]) == (18, 9, 4)
    assert Contact.objects.get(code="C3").first_name == "New"
    assert Contact.objects.get(code="C4").birth_date == datetime.date(1980, 2, 3)
    assert Contact.objects.get(code="C2").first_name == "New"


def test_a_refused_batch_falls_back_to_rows_on_postgresql(run_import):
    Contact.objects.create(code="K1", first_name="Ana")
    content = csv_bytes([["Code", "First name"], ["K1", ""], ["K2", "Bia"]])
    run = run_import(content, update_existing=True)
    assert run.state == RunState.COMPLETED_WITH_ERRORS
    assert dict(RunItem.objects.filter(run=run).values_list("record_id", "message")) == {
        2: "A person needs a first or a last name."
    }
    assert Contact.objects.get(code="K2").first_name == "Bia"
