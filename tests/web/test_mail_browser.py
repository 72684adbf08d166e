"""The mail pages in a real browser: an administrator writes a template, previews it on a
contact with a non-ASCII name, then puts an address on the suppression list and takes it off.

Run with ``.venv/bin/pytest -m browser tests/web/test_mail_browser.py``.
"""

from __future__ import annotations

import os

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from nightshift.crm.models import Contact
from nightshift.mail.models import EmailTemplate, SuppressionEntry
from tests.browser import sign_in

# Playwright's sync API keeps an event loop running in this thread (see test_runs_browser).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = pytest.mark.browser


def test_administrator_writes_previews_and_manages_the_suppression_list(
    page: Page, administrator, transactional_db
):
    Contact.objects.create(
        code="C-7", first_name="Conceição", last_name="Araújo", email="ca@example.com"
    )
    sign_in(page, administrator)
    page.goto(reverse("mail:templates"))
    page.get_by_role("link", name="New e-mail template").click()
    expect(page.locator("main h1")).to_have_text("New e-mail template")
    page.locator("#id_code").fill("welcome")
    page.locator("#id_name").fill("Welcome")
    page.locator("#id_subject").fill("Bem-vinda, {{ first_name }}!")
    page.locator("#id_body_text").fill("Olá {{ full_name }}")
    page.locator("#id_body_html").fill("<p>Olá <b>{{ full_name }}</b></p>")
    page.get_by_role("button", name="Save and preview").click()

    page.get_by_label("Contact code").fill("C-7")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("[data-preview-subject]")).to_have_text("Bem-vinda, Conceição!")
    expect(page.locator("[data-preview-text]")).to_have_text("Olá Conceição Araújo")
    frame = page.frame_locator("[data-preview-html]")
    expect(frame.locator("b")).to_have_text("Conceição Araújo")
    assert EmailTemplate.objects.filter(code="welcome").exists()

    page.goto(reverse("mail:templates"))
    page.get_by_role("link", name="Suppression list").click()
    page.locator("#id_email").fill("CA@example.com")
    page.locator("#id_reason").fill("asked by phone")
    page.locator("[data-add-suppression] #id_contact").fill("C-7")
    page.get_by_role("button", name="Add to the list").click()
    row = page.locator('[data-suppression="ca@example.com"]')
    expect(row).to_contain_text("asked by phone")
    row.get_by_role("button", name="Remove").click()
    expect(page.locator('[data-suppression="ca@example.com"]')).to_have_count(0)
    assert not SuppressionEntry.objects.exists()
