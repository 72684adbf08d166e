"""`nightshift worker`: executes the runs queued on its application server, and only those."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from nightshift.crm.models import Contact
from nightshift.runs import actions
from nightshift.runs.models import ApplicationServer, ProcessRun, RunState, Worker
from nightshift.runs.scheduler import fire_due
from tests.runs.tagging import TAG

# The worker closes stale connections between tasks, as in production: the test's data must be
# committed, not held in a test transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_runs_what_is_queued_on_its_server_and_unregisters(
    define, operator, contacts, scheduler_running
):
    contacts(15)
    ApplicationServer.objects.create(name="night")
    for name, server in (("Default", None), ("Night", "night")):
        definition = define(name=name, server=server)
        actions.submit_definition(user=operator, unified_code=definition.unified_code)
    default_run, night_run = sorted(fire_due(), key=lambda run: run.definition.name)

    call_command("worker", "--batch", "--interval", "0")

    default_run.refresh_from_db()
    night_run.refresh_from_db()
    assert default_run.state == RunState.COMPLETED
    assert default_run.processed == 15
    assert night_run.state == RunState.DRAFT
    assert Contact.objects.filter(city=TAG).count() == 15
    assert not Worker.objects.exists()

    call_command("worker", "--server", "night", "--batch", "--interval", "0")
    night_run.refresh_from_db()
    assert night_run.state == RunState.COMPLETED


def test_a_worker_for_a_new_server_registers_that_server(db):
    call_command("worker", "--server", "east", "--batch", "--interval", "0")
    assert ApplicationServer.objects.filter(name="east", is_default=False).exists()
    assert not ProcessRun.objects.exists()
