"""The web shell in a real browser: Debian's Chromium driven by Playwright against a live server.

Run with ``make test-browser`` (or ``.venv/bin/pytest -m browser tests/web``).
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from nightshift.web.areas import UTILITY_AREAS
from tests.browser import artifact
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_operator_signs_in_reaches_every_page_in_both_languages_and_signs_out(page: Page, operator):
    page.goto(reverse("web:dashboard"))
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.get_by_label("User name").fill(operator.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("main h1")).to_have_text("Dashboard")
    expect(page.get_by_text("Signed in as")).to_contain_text(operator.username)

    nav = page.get_by_role("navigation", name="Main navigation")
    for area in UTILITY_AREAS:
        if not area.is_open_to(operator):
            # An area the operator may not open is not offered.
            expect(nav.get_by_role("link", name=str(area.title), exact=True)).to_have_count(0)
            continue
        nav.get_by_role("link", name=str(area.title), exact=True).click()
        expect(page).to_have_url(re.compile(re.escape(area.url()) + "$"))
        active = nav.locator("a[aria-current=page]")
        expect(active).to_have_text(str(area.title))
    nav.get_by_role("link", name="Dashboard", exact=True).click()
    expect(page.locator("main h1")).to_have_text("Dashboard")

    page.get_by_role("button", name="Português (Brasil)").click()
    expect(page.locator("main h1")).to_have_text("Painel")
    expect(page.locator("html")).to_have_attribute("lang", "pt-br")
    nav = page.get_by_role("navigation", name="Navegação principal")
    nav.get_by_role("link", name="Importações", exact=True).click()
    expect(page.locator("main h1")).to_have_text("Importações")
    expect(page.get_by_role("link", name="Nova importação")).to_be_visible()
    nav.get_by_role("link", name="Agendador", exact=True).click()
    expect(page.locator("main h1")).to_have_text("Agendador")
    page.screenshot(path=artifact("web-scheduler-pt-br.png"), full_page=True)

    page.get_by_role("button", name="English").click()
    expect(page.locator("main h1")).to_have_text("Scheduler")  # the switch keeps the page
    nav = page.get_by_role("navigation", name="Main navigation")
    nav.get_by_role("link", name="Dashboard", exact=True).click()
    page.screenshot(path=artifact("web-dashboard.png"), full_page=True)

    page.get_by_role("button", name="Log out").click()
    expect(page.locator("main h1")).to_have_text("Sign in")
    page.goto(reverse("web:dashboard"))
    expect(page.locator("main h1")).to_have_text("Sign in")  # signed out for real
