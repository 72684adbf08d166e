"""The import wizard in a real browser: an operator picks contacts, uploads a CSV with one bad
row through the file picker, checks the suggested mapping, sees the bad row rejected (and why)
in the preview, starts the import, watches its run complete and downloads the error file.

Run with ``.venv/bin/pytest -m browser tests/imports/test_wizard_browser.py``.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from nightshift.crm.models import Contact
from nightshift.runs.models import ProcessRun, RunState
from tests.browser import artifact, sign_in
from tests.imports.conftest import execute
from tests.imports.files import csv_bytes
from tests.web.conftest import django_db_modify_db_settings  # noqa: F401 — a file database

pytestmark = pytest.mark.browser

ROWS = [
    ["Code", "First name", "E-mail", "Town"],
    ["W1", "Ana", "ana@example.com", "Recife"],
    ["W2", "Bia", "bia@", "Porto"],
    ["W3", "Caio", "caio@example.com", "Natal"],
]
BAD_ROW_REASON = "Column “E-mail” (email): “bia@” is not a valid e-mail address."


def test_operator_imports_contacts_through_the_wizard_and_downloads_the_rejected_row(
    page: Page, operator, transactional_db, tmp_path
):
    upload = tmp_path / "new-contacts.csv"
    upload.write_bytes(csv_bytes(ROWS))
    sign_in(page, operator)

    # Step 1: the Imports area, New import, the entity (each with its sample files).
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Imports", exact=True
    ).click()
    expect(page.locator("main h1")).to_have_text("Imports")
    page.get_by_role("link", name="New import").click()
    contacts = page.locator("[data-entity='contacts']")
    expect(contacts.get_by_role("link", name="XLSX")).to_be_visible()
    contacts.get_by_role("link", name="Contacts").click()

    # Step 2: the file picker; choosing the file uploads it and moves on.
    expect(page.locator("main h1")).to_have_text("Import Contacts")
    expect(page.locator("[data-upload-form][data-ready]")).to_be_attached()
    page.locator("[data-dropzone] input[type=file]").set_input_files(upload)

    # Step 3: headers and first row beside the fields, the suggestion preselected.
    expect(page.locator("main h1")).to_have_text("Import Contacts from new-contacts.csv")
    for column, field in [("Code", "code"), ("First name", "first_name"), ("E-mail", "email")]:
        expect(page.locator(f"[data-column='{column}'] select")).to_have_value(field)
    expect(page.locator("[data-column='Town'] select")).to_have_value("city")
    expect(page.locator("[data-column='E-mail'] .sample")).to_have_text("ana@example.com")
    expect(page.get_by_label("Do not import the first row (header)")).to_be_checked()
    expect(page.get_by_label("Update existing records")).not_to_be_checked()
    page.locator("[data-column='Town'] select").select_option("")  # Town is not imported
    page.get_by_label("Name", exact=True).fill("Contacts from the fair")
    page.screenshot(path=artifact("imports-wizard-mapping.png"), full_page=True)
    page.get_by_role("button", name="Next step: preview").click()

    # Step 4: what each row would do; the bad row rejected with its reason.
    rows = page.locator("[data-preview] tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("[data-action='reject']")).to_have_count(1)
    expect(page.locator("[data-row='3']")).to_contain_text("Reject")
    expect(page.locator("[data-row='3']")).to_contain_text(BAD_ROW_REASON)
    expect(page.locator("[data-count='create']")).to_have_text("Create: 2")
    assert not Contact.objects.exists()
    page.screenshot(path=artifact("imports-wizard-preview.png"), full_page=True)
    page.get_by_role("button", name="Start import").click()

    # The run's page; a worker executes it and the page shows it completed.
    expect(page.locator(".message")).to_contain_text("started")
    run = ProcessRun.objects.get()
    expect(page.locator("main h1")).to_have_text(f"Run #{run.pk} — Contacts from the fair")
    ended = execute(run)
    assert ended.state == RunState.COMPLETED_WITH_ERRORS
    expect(page.locator("#run-progress [data-state]")).to_have_text("Completed with errors")
    assert sorted(Contact.objects.values_list("code", "city")) == [("W1", ""), ("W3", "")]

    # The error file, from the Imports area: the rejected row as uploaded, with its reason.
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Imports", exact=True
    ).click()
    listed = page.locator(f"[data-run='{run.pk}']")
    expect(listed).to_contain_text("Completed with errors")
    with page.expect_download() as info:
        listed.locator("[data-error-file]").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name == "new-contacts.errors.csv"
    content = list(csv.reader(io.StringIO(saved.read_bytes().decode("utf-8-sig"))))
    assert content == [[*ROWS[0], "Error"], [*ROWS[2], BAD_ROW_REASON]]


def test_a_file_dropped_on_the_drop_zone_is_uploaded_and_mapped(page: Page, operator, tmp_path):
    sign_in(page, operator)
    page.goto(reverse("imports:upload", args=["contacts"]))
    expect(page.locator("[data-upload-form][data-ready]")).to_be_attached()
    # What the browser does when a file is dragged from the desktop and let go over the zone.
    page.locator("[data-dropzone]").evaluate(
        """(zone, text) => {
            const files = new DataTransfer();
            files.items.add(new File([text], "dropped.csv", {type: "text/csv"}));
            zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: files, bubbles: true}));
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: files, bubbles: true}));
        }""",
        csv_bytes(ROWS).decode(),
    )
    expect(page.locator("main h1")).to_have_text("Import Contacts from dropped.csv")
    expect(page.locator("[data-column='E-mail'] select")).to_have_value("email")
