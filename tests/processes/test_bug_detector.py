"""Bug detector: failed runs, records in error and logged exceptions of the last day are mailed
to the administrators once; a quiet day sends nothing."""

from __future__ import annotations

import datetime
import logging

import pytest
import time_machine

from nightshift.mail.models import LoggedError
from nightshift.processes.base import ParameterError
from nightshift.processes.builtin.bug_detector import BugDetector
from nightshift.runs.models import ProcessRun, RunItem, RunState
from tests.mail.smtp import serve

from ._engine import items, run_process

KEY = BugDetector.key
NOW = datetime.datetime(2026, 11, 22, 6, 0, tzinfo=datetime.UTC)


@pytest.fixture
def smtp_server(settings):
    yield from serve(settings)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def ended_run(definition_run: ProcessRun, state: str, *, hours_ago: float, failed=0, message=""):
    """A copy of ``definition_run`` ended ``hours_ago`` in ``state``."""
    run = ProcessRun.objects.create(
        definition=definition_run.definition,
        process_key=definition_run.process_key,
        server=definition_run.server,
        as_of=NOW.date(),
        state=state,
        ended_at=NOW - datetime.timedelta(hours=hours_ago),
        processed=10,
        failed=failed,
        message=message,
    )
    for n in range(failed):
        RunItem.objects.create(run=run, record_id=n + 1, ok=False, message=f"record {n} broke")
    return run


def test_a_quiet_day_sends_nothing(administrator, clock, smtp_server):
    run = run_process(administrator, KEY, {})
    assert run.state == RunState.COMPLETED
    assert smtp_server.received == []
    assert items(run)[1] == (True, "No errors to report; no mail sent.")


def test_errors_of_the_day_are_mailed_to_each_administrator_once(
    administrator, make_user, operator, clock, smtp_server
):
    from nightshift.core import roles

    make_user("root2", roles.ADMINISTRATORS, email="root2@example.com")
    first = run_process(administrator, KEY, {})  # a run to copy the definition from
    ended_run(first, RunState.FAILED, hours_ago=2, message="The ERP is unreachable.")
    ended_run(first, RunState.COMPLETED_WITH_ERRORS, hours_ago=3, failed=2)
    ended_run(first, RunState.FAILED, hours_ago=30, message="Too old to report.")
    LoggedError.objects.create(
        logged_at=NOW - datetime.timedelta(hours=1),
        level="ERROR",
        logger_name="django.request",
        message="Internal Server Error: /runs/",
    )

    run = run_process(administrator, KEY, {"extra_recipients": ["oncall@example.com"]})
    again = run_process(administrator, KEY, {})

    assert run.state == RunState.COMPLETED
    recipients = sorted(r.rcpt_tos[0] for r in smtp_server.received)
    assert recipients == ["ada@example.com", "oncall@example.com", "root2@example.com"]
    report = smtp_server.received[0].message
    assert "1 failed runs, 1 runs with errors, 1 logged errors" in report["Subject"]
    text = report.get_body(("plain",)).get_content()
    assert "The ERP is unreachable." in text
    assert "record 0 broke" in text
    assert "Internal Server Error: /runs/" in text
    assert "Too old to report." not in text
    html = report.get_body(("html",)).get_content()
    assert "<h2>" in html
    assert "already sent" in items(again)[1][1].lower()


def test_logged_error_reaches_the_table_through_the_handler(db, django_capture_on_commit_callbacks):
    logger = logging.getLogger("nightshift.tests.bug")
    with django_capture_on_commit_callbacks(execute=True):
        try:
            raise ValueError("boom <b>")
        except ValueError:
            logger.exception("Something failed for record %s", 7)
    error = LoggedError.objects.get(logger_name="nightshift.tests.bug")
    assert error.message == "Something failed for record 7"
    assert "ValueError: boom <b>" in error.traceback
    assert error.level == "ERROR"


def test_error_logged_inside_a_transaction_waits_for_its_commit(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        logging.getLogger("nightshift.tests.tx").error("inside")
        assert not LoggedError.objects.filter(logger_name="nightshift.tests.tx").exists()
    assert callbacks
    assert LoggedError.objects.filter(logger_name="nightshift.tests.tx").exists()


def test_warnings_are_not_kept(db):
    logging.getLogger("nightshift.tests.warn").warning("just a warning")
    assert not LoggedError.objects.filter(logger_name="nightshift.tests.warn").exists()


def test_extra_recipients_must_be_addresses(db):
    with pytest.raises(ParameterError) as error:
        BugDetector.validate_parameters({"extra_recipients": ["not an address"]})
    assert "not an address" in error.value.errors["extra_recipients"]


def test_server_exception_is_reported_next_morning(
    client, administrator, smtp_server, settings, django_capture_on_commit_callbacks
):
    """A view that raises is logged by Django, stored by the handler, and reported."""
    settings.ROOT_URLCONF = "tests.processes._broken_urls"
    client.raise_request_exception = False
    with (
        time_machine.travel(NOW - datetime.timedelta(hours=5), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert client.get("/broken/").status_code == 500
    stored = LoggedError.objects.get(logger_name="django.request")
    assert "RuntimeError: the broken view broke" in stored.traceback
    with time_machine.travel(NOW, tick=False):
        run_process(administrator, KEY, {})
    text = smtp_server.received[0].message.get_body(("plain",)).get_content()
    assert "Internal Server Error: /broken/" in text
