"""Batches as the database takes them, on SQLite and PostgreSQL alike: a batch the database
refuses written again row by row, and the next batch made ready on a connection of its own
while the current one is written."""

from __future__ import annotations

import pytest

from nightshift.crm.models import Contact
from nightshift.runs.models import RunItem, RunState
from tests.imports.files import csv_bytes


def test_a_refused_batch_falls_back_to_rows(run_import):
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
