"""The engine's pages in a real browser: an operator defines a run with an advanced schedule
and sees its preview; then submits a "run now" definition, watches the run's progress rise
while a worker thread executes it, stops it, and drills into the records with errors.

Run with ``.venv/bin/pytest -m browser tests/web/test_runs_browser.py``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import pytest
from django.db import connection
from playwright.sync_api import Page, expect

from nightshift.crm.models import Contact
from nightshift.processes.registry import register_temporarily
from nightshift.runs import engine, workers
from nightshift.runs.models import (
    ApplicationServer,
    ProcessRun,
    RunDefinition,
    RunState,
    SchedulerState,
)
from nightshift.runs.scheduler import fire_due
from tests.browser import TIMEOUT_MS, artifact, sign_in
from tests.runs.tagging import TagContacts

pytestmark = pytest.mark.browser

CONTACTS = 3000
REFUSED = 120  # the first contacts refuse to be tagged: the run has records with errors
BATCH_SIZE = 30  # 100 slow batches: time to watch the progress rise and press Stop
BATCH_DELAY = 0.2  # seconds each batch takes (inside its transaction), so it can be watched


@pytest.fixture
def tag_process() -> Iterator[type[TagContacts]]:
    with register_temporarily(TagContacts):
        yield TagContacts
    TagContacts.during_batch = None


@pytest.fixture
def contacts(transactional_db):
    """``count`` contacts without a city, the first ``refused`` of them refusing the tag."""

    def make(count: int, *, refused: int = 0) -> None:
        Contact.objects.bulk_create(
            Contact(
                code=f"C{n:06d}",
                first_name=f"Name{n}",
                email=f"refuse{n}@example.com" if n < refused else f"c{n}@example.com",
            )
            for n in range(count)
        )

    return make


@pytest.fixture
def scheduler_running(transactional_db) -> None:
    SchedulerState.objects.update_or_create(pk=1, defaults={"running": True})


def start_definition(page: Page, name: str) -> None:
    """From the menu to the form of a new definition of the test process."""
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Run definitions", exact=True
    ).click()
    page.get_by_role("link", name="New run definition").click()
    page.get_by_role("link", name=TagContacts.name).click()
    expect(page.locator("main h1")).to_have_text("New run definition")
    page.get_by_label("Name").fill(name)


def test_operator_defines_a_weekly_schedule_and_sees_its_next_firings(
    page: Page, operator, tag_process
):
    sign_in(page, operator)
    start_definition(page, "Tag every Monday and Thursday")
    page.get_by_label("City").fill("Braga")

    schedule = page.locator("#schedule-section")
    schedule.get_by_label("Run", exact=True).select_option("advanced")
    schedule.get_by_label("Time zone", exact=True).fill("UTC")
    schedule.get_by_label("Start at", exact=True).fill("2030-01-07T03:00")
    schedule.get_by_label("Repeat", exact=True).select_option("weekly")
    # No weekday yet: the preview says what is missing, in place.
    expect(page.locator("[data-preview-error]")).to_contain_text("repeat.weekly.weekdays")
    schedule.get_by_label("Monday", exact=True).check()
    schedule.get_by_label("Thursday", exact=True).check()

    firings = page.locator("[data-firings] li")
    expect(firings).to_have_count(10)
    expect(firings.first).to_have_text("Mon 2030-01-07 03:00 UTC")
    expect(firings.nth(1)).to_have_text("Thu 2030-01-10 03:00 UTC")
    page.screenshot(path=artifact("runs-definition-form.png"), full_page=True)

    page.get_by_role("button", name="Save").click()
    expect(page.locator(".message")).to_contain_text("was created")
    definition = RunDefinition.objects.get()
    expect(page.locator("main h1")).to_have_text(
        f"{definition.unified_code} — Tag every Monday and Thursday"
    )
    assert definition.schedule["repeat"] == {"weekly": {"every": 1, "weekdays": ["MO", "TH"]}}
    assert definition.parameters == {"city": "Braga"}


class Worker(threading.Thread):
    """A worker of the default server in a thread: fires the due task and executes its run in
    small, slow batches, as ``nightshift worker`` would."""

    def __init__(self) -> None:
        super().__init__(name="test-worker", daemon=True)
        self.run_number: int | None = None
        self.fired = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with workers.registered(ApplicationServer.default()) as worker_id:
                (process_run,) = fire_due()
                self.run_number = process_run.pk
                self.fired.set()
                # No pause of the test's own between batches: the engine's lets the Stop
                # button's write in on SQLite.
                engine.execute(process_run.pk, worker_id=worker_id, batch_size=BATCH_SIZE)
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc
            self.fired.set()
        finally:
            connection.close()


def progress_of(page: Page) -> int:
    return int(page.locator("[data-progress]").inner_text().rstrip("%"))


def test_operator_watches_a_run_rise_stops_it_and_drills_into_its_errors(
    page: Page, operator, tag_process, contacts, scheduler_running
):
    contacts(CONTACTS, refused=REFUSED)
    TagContacts.during_batch = lambda ids: time.sleep(BATCH_DELAY)
    sign_in(page, operator)
    start_definition(page, "Tag everyone now")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Submit").click()
    expect(page.locator(".message")).to_contain_text("Submitted to the scheduler")

    worker = Worker()
    worker.start()
    try:
        assert worker.fired.wait(TIMEOUT_MS / 1000), "the worker did not fire the task"
        assert worker.error is None, worker.error
        nav = page.get_by_role("navigation", name="Main navigation")
        nav.get_by_role("link", name="Batch Process Admin Board").click()
        page.get_by_role("link", name=f"#{worker.run_number}", exact=True).click()
        expect(page.locator("main h1")).to_contain_text(f"Run #{worker.run_number}")

        # The page refreshes itself: the percentage rises without a reload.
        progress = page.locator("[data-progress]")
        expect(progress).not_to_have_text("0%")
        first = progress_of(page)
        page.wait_for_function(
            "(first) => parseInt(document.querySelector('[data-progress]').textContent) > first",
            arg=first,
        )
        assert 0 < first < progress_of(page) < 100
        expect(page.locator("#run-progress [data-state]")).to_have_text("In progress")

        page.get_by_role("button", name="Stop").click()
        expect(page.locator("#run-progress [data-state]")).to_have_text("Stopped")
        # The page reloads once when the run ends: its log is final.
        expect(page.locator("[data-log]")).to_contain_text(f"Run #{worker.run_number} ended")
        page.screenshot(path=artifact("runs-run-stopped.png"), full_page=True)
    finally:
        worker.join(TIMEOUT_MS / 1000)
    assert worker.error is None, worker.error

    run = ProcessRun.objects.get(pk=worker.run_number)
    assert run.state == RunState.STOPPED
    assert 0 < run.processed < CONTACTS
    expect(page.locator("[data-failed]")).to_have_text(str(run.failed))

    page.locator("[data-failed]").click()
    rows = page.locator("[data-items=error] tbody tr")
    expect(rows).to_have_count(min(run.failed, 50))
    expect(rows.first).to_contain_text("refused: the e-mail asks not to be tagged")
    first_refused = run.items.filter(ok=False).order_by("record_id").first().record_id
    expect(rows.first.locator("th")).to_have_text(str(first_refused))
    expect(page).to_have_url(re.compile(r"\?items=error"))

    page.get_by_role("link", name=run.definition.unified_code + " v1").click()
    expect(page.locator(f'[data-run="{run.pk}"]')).to_contain_text("Stopped")
    page.screenshot(path=artifact("runs-definition-detail.png"), full_page=True)
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Batch Process Admin Board"
    ).click()
    expect(page.locator(f"#run-{run.pk}")).to_have_attribute("data-state", RunState.STOPPED)
    page.screenshot(path=artifact("runs-board.png"), full_page=True)
