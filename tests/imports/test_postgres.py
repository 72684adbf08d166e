"""The PostgreSQL write path: COPY into the staging table, then INSERT … ON CONFLICT."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection

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


@pytest.mark.django_db(transaction=True)
def test_batches_looked_up_ahead_on_their_own_connection_land_as_one_by_one(
    operator, upload, settings
):
    """Outside a test's transaction (as in a worker), each next batch is read, checked and
    looked up on a connection of its own while the current one is written: existing codes,
    references, repeats across batches and rows of the batch in flight all come out as they
    do batch by batch."""
    from nightshift.crm.models import ContactClassification
    from nightshift.imports import actions
    from nightshift.runs.models import SchedulerState
    from nightshift.runs.scheduler import fire_task_now
    from tests.imports.conftest import execute

    SchedulerState.objects.update_or_create(pk=1, defaults={"running": True})
    ContactClassification.objects.create(name="Gold")
    Contact.objects.bulk_create(Contact(code=f"C{n}", first_name="Old") for n in range(0, 40, 4))
    rows = [["Code", "First name", "Classification"]]
    for n in range(40):
        rows.append([f"C{n}", "New", "Gold" if n % 5 else "Tin"])
    rows.append(["C9", "Repeat", "Gold"])  # repeats a code of an earlier batch
    uploaded = upload(csv_bytes(rows))
    task = actions.start_import(
        user=operator, entity="contacts", upload_id=uploaded.pk, update_existing=False
    )
    run = execute(fire_task_now(task), batch_size=6)
    summary = run.summary()
    # 10 existed (left unchanged), 8 name a classification there is not, 1 repeats a code.
    assert (summary["created"], summary["updated"], summary["rejected"]) == (24, 0, 17)
    messages = dict(RunItem.objects.filter(run=run).values_list("record_id", "message"))
    assert "already exists" in messages[6]  # C4
    assert "there is no contact classification “Tin”" in messages[7]  # C5
    assert "repeats the code of an earlier row" in messages[42]
    assert Contact.objects.filter(first_name="New", classification__name="Gold").count() == 24
    assert Contact.objects.get(code="C4").first_name == "Old"
    # Rows made ready in the thread carry the log information of the one who imported them.
    assert set(Contact.objects.filter(first_name="New").values_list("created_by", flat=True)) == {
        operator.pk
    }


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
