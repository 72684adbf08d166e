"""What every browser test shares: Debian's Chromium driven by Playwright against Django's live
server, and signing in. Loaded as a plugin by ``tests/conftest.py``, so ``page`` is a fixture
of every test module; the tests themselves carry the ``browser`` marker.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect, sync_playwright

from tests.conftest import PASSWORD

__all__ = ["CHROMIUM_ARGS", "TIMEOUT_MS", "artifact", "page", "sign_in"]

# Playwright's sync API keeps an event loop running in this thread, which Django reads as
# "inside async code" and would refuse the ORM calls of fixtures and teardown.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Screenshots worth keeping from a run (CI may publish the folder).
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Waiting for the page, never a measurement: generous, so a loaded machine only slows down.
TIMEOUT_MS = 20_000


@pytest.fixture
def page(live_server) -> Iterator[Page]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = browser.new_context(
            base_url=live_server.url, locale="en-US", accept_downloads=True
        )
        context.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def artifact(name: str) -> Path:
    """Where to save a screenshot worth keeping (``test-artifacts/``, made on first use)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def sign_in(page: Page, user) -> None:
    page.goto(reverse("login"))
    page.get_by_label("User name").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("main h1")).to_have_text("Dashboard")
