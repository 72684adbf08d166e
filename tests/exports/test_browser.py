"""An operator starts an export from the Exports area in a real browser, follows its run and
downloads the file from the run page and from the exports list.

Run with ``.venv/bin/pytest -m browser tests/exports/test_browser.py``.
"""

from __future__ import annotations

import os

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from nightshift.crm.models import Contact
from nightshift.runs.models import ProcessRun
from tests.conftest import PASSWORD
from tests.exports.conftest import read_csv, run_to_end
from tests.web.conftest import django_db_modify_db_settings  # noqa: F401 — a file database

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = pytest.mark.browser


def test_operator_starts_an_export_and_downloads_the_file(
    page: Page, operator, transactional_db, tmp_path
):
    Contact.objects.bulk_create(
        [
            Contact(code="A1", first_name="Ana", status="active", city="=cmd|' /C calc'!A0"),
            Contact(code="B2", first_name="Bia", status="inactive", city="Porto"),
            Contact(code="C3", first_name="Caio", status="active", city="Recife"),
        ]
    )
    page.goto(reverse("login"))
    page.get_by_label("User name").fill(operator.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("main h1")).to_have_text("Dashboard")

    page.goto(reverse("exports:list"))
    page.get_by_role("link", name="New export").click()
    page.get_by_role("link", name="Contacts").click()
    expect(page.locator("main h1")).to_have_text("New export of Contacts")
    page.get_by_label("Name", exact=True).fill("Active contacts for the ERP")
    page.locator("[data-field='filter_status']").get_by_label("active", exact=True).check()
    columns = page.locator("[data-field='columns']")
    for label in ("Kind", "Last name", "Company name", "E-mail", "Phone"):
        columns.get_by_label(label, exact=True).uncheck()
    page.get_by_role("button", name="Start export").click()

    expect(page.locator(".message")).to_contain_text("started")
    run = ProcessRun.objects.get()
    assert run.definition.name == "Active contacts for the ERP"
    run_to_end(run)  # what a worker does; the page reloads itself when the run ends
    link = page.locator("[data-output]")
    expect(link).to_have_text(f"contacts-{run.pk:06d}.csv")
    with page.expect_download() as info:
        link.click()
    saved = tmp_path / "download.csv"
    info.value.save_as(saved)
    rows = read_csv(saved.read_bytes())
    assert rows[0][:3] == ["Code", "First name", "Birth date"]
    assert [(row[0], row[1]) for row in rows[1:]] == [("A1", "Ana"), ("C3", "Caio")]
    assert rows[1][rows[0].index("City")] == "'=cmd|' /C calc'!A0"

    page.goto(reverse("exports:list"))
    with page.expect_download() as again:
        page.locator("[data-download]").click()
    assert again.value.suggested_filename == f"contacts-{run.pk:06d}.csv"
