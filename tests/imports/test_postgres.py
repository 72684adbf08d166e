"""The PostgreSQL write path: COPY into the staging table, then INSERT … ON CONFLICT."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection

from nightshift.crm.models import Contact
from nightshift.runs.models import RunItem
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


def test_new_rows_written_without_looking_up_their_codes_still_meet_existing_ones(run_import):
    # With "update existing records" off, a batch is written as new without looking its codes
    # up; when the database refuses it (a code is there, a rule of its own), the batch is
    # looked up and written again: each row comes out as if it had been looked up first.
    with connection.cursor() as cursor:  # a rule no row check foresees (undone with the test)
        cursor.execute("ALTER TABLE crm_contact ADD CONSTRAINT no_zed CHECK (first_name <> 'Zed')")
    Contact.objects.create(code="K1", first_name="Ana")
    rows = [["Code", "First name"], ["K1", "Again"], ["K2", "Zed"], ["K3", "Cid"]]
    rows += [[f"L{n}", "Later"] for n in range(6)]
    rows.append(["K1", "Once more"])  # repeats row 2's code, in a later batch
    run = run_import(csv_bytes(rows), update_existing=False, batch_size=4)
    messages = dict(RunItem.objects.filter(run=run).values_list("record_id", "message"))
    assert set(messages) == {2, 3, 11}
    assert "already exists" in messages[2]
    assert "The database refused the row" in messages[3]
    assert "no_zed" in messages[3]
    assert "repeats the code of an earlier row" in messages[11]
    assert Contact.objects.get(code="K1").first_name == "Ana"
    written = Contact.objects.exclude(code="K1").values_list("code", flat=True)
    assert set(written) == {"K3", *(f"L{n}" for n in range(6))}
