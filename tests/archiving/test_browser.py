"""The archiving flow end to end in Chromium: an archivist defines an archive of old purchases,
submits it (a wrong password refused, then the right one), the run archives them, and on the
Archives screen the archivist downloads the archive (its CSV holds the archived rows) and
restores it (the purchases are back).

Run with ``.venv/bin/pytest -m browser tests/archiving/test_browser.py``.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from nightshift.archiving.models import Archive
from nightshift.crm.models import CustomerEvent
from nightshift.runs import engine
from nightshift.runs.models import ScheduledTask
from nightshift.runs.scheduler import fire_task_now
from tests.browser import sign_in
from tests.conftest import PASSWORD

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_archivist_archives_old_purchases_downloads_and_restores_them(
    page: Page,
    archivist,
    make_event,
):
    purchases = [make_event("purchase") for _ in range(3)]
    sign_in(page, archivist)
    nav = page.get_by_role("navigation", name="Main navigation")
    nav.get_by_role("link", name="Run definitions", exact=True).click()
    page.get_by_role("link", name="New run definition").click()
    page.get_by_role("link", name="Data archiving").click()
    page.get_by_label("Name").fill("Annual clean-up of purchases")
    page.get_by_label("Data archiving entity").select_option("purchase_events")
    expect(page.get_by_label("Archive data created X months ago")).to_have_value("12")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".message")).to_contain_text("was created")

    password = page.get_by_label("Your password (asked again to submit)")
    password.fill("not my password")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator(".message")).to_contain_text("The password is not correct")
    assert not ScheduledTask.objects.exists()
    page.get_by_label("Your password (asked again to submit)").fill(PASSWORD)
    page.get_by_role("button", name="Submit").click()
    expect(page.locator(".message")).to_contain_text("Submitted to the scheduler")

    run = fire_task_now(ScheduledTask.objects.get())
    engine.execute(run.pk, worker_id="browser-test-worker", batch_size=2)
    assert not CustomerEvent.objects.exists()
    archive = Archive.objects.get()

    page.goto(reverse("archiving:archives"))
    row = page.locator(f'[data-archive="{archive.pk}"]')
    expect(row.locator("[data-rows]")).to_contain_text("12")
    expect(row).to_contain_text("Completed")
    download_form = row.locator('[data-action="download"]')
    download_form.get_by_placeholder("Your password").fill(PASSWORD)
    with page.expect_download() as downloading:
        download_form.get_by_role("button", name="Download").click()
    data = downloading.value.path().read_bytes()
    zf = zipfile.ZipFile(io.BytesIO(data))
    events = list(csv.DictReader(io.TextIOWrapper(zf.open("crm_customerevent.csv"), "utf-8")))
    assert [int(e["id"]) for e in events] == [p.pk for p in purchases]
    assert [e["reference"] for e in events] == [p.reference for p in purchases]

    restore_form = row.locator('[data-action="restore"]')
    restore_form.get_by_placeholder("Your password").fill(PASSWORD)
    restore_form.get_by_role("button", name="Restore").click()
    expect(page.locator(".message")).to_contain_text(f"Archive #{archive.pk} was restored")
    expect(page.locator(f'[data-archive="{archive.pk}"]')).to_have_attribute(
        "data-state", "restored"
    )
    assert sorted(CustomerEvent.objects.values_list("pk", flat=True)) == [p.pk for p in purchases]
