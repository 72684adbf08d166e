"""`nightshift worker`: executes the runs queued on its application server, and only those."""

from __future__ import annotations

import signal

import pytest
from django.core.management import call_command

from nightshift.crm.models import Contact
from nightshift.runs import actions, engine
from nightshift.runs.management.commands.worker import _Worker
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


@pytest.fixture
def queue_worker():
    worker = _Worker(
        queue_names=["default"],
        interval=0.5,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="w",
        excluded_queue_names=[],
    )
    yield worker
    worker.reset_signals()
    engine.SHUTDOWN.clear()


def test_sigterm_between_tasks_ends_the_loop_without_raising_where_the_worker_is(queue_worker):
    """Raised from the handler, SystemExit could land in the middle of a poll's query and leave
    the connection unusable for the worker's clean-up (it then exited 1, not 0)."""
    queue_worker.shutdown(signal.SIGTERM, None)  # no SystemExit here
    assert queue_worker.running is False
    assert engine.SHUTDOWN.is_set()
    with pytest.raises(SystemExit) as forced:  # a second signal still forces the exit
        queue_worker.shutdown(signal.SIGTERM, None)
    assert forced.value.code == 1


def test_sigterm_during_a_task_lets_it_hand_its_run_back(queue_worker):
    queue_worker.running_task = True
    queue_worker.shutdown(signal.SIGTERM, None)
    assert queue_worker.running is False
    assert engine.SHUTDOWN.is_set()  # the engine hands the run back after its batch
