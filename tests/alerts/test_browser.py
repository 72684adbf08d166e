"""A blocked user in a real browser: signs in, is sent to the notifications page, cannot reach
the dashboard, attends to the blocking notification, and then reaches the dashboard, which
lists the open reminders.

Run with ``.venv/bin/pytest -m browser tests/alerts``.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from nightshift.crm.choices import NotificationKind, NotificationState
from nightshift.crm.models import Notification
from tests.conftest import PASSWORD
from tests.web.conftest import django_db_modify_db_settings  # noqa: F401 — file database

pytestmark = pytest.mark.browser


def test_a_blocked_user_attends_to_the_notification_then_reaches_the_dashboard(
    page: Page, operator
):
    blocking = Notification.objects.create(
        user=operator,
        kind=NotificationKind.BLOCKING,
        title="Overdue task: Send the signed contract",
        subject_key="task:1:overdue",
        deadline=timezone.now() + datetime.timedelta(hours=6),
    )
    Notification.objects.create(
        user=operator,
        kind=NotificationKind.NON_BLOCKING,
        title="Reminder: Product demo tomorrow",
        subject_key="event:1:reminder:20261124T0800",
    )

    page.goto(reverse("login"))
    page.get_by_label("User name").fill(operator.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(r"/notifications/$"))
    expect(page.locator("main h1")).to_have_text("My notifications")
    expect(page.locator(".message")).to_contain_text(f"#{blocking.pk} {blocking.title}")
    expect(page.locator("[data-blocked]")).to_contain_text("the only page of the CRM")

    page.goto(reverse("runs:board"))  # any other page sends the user back
    expect(page).to_have_url(re.compile(r"/notifications/$"))

    page.get_by_role("button", name=f"Attend to {blocking.title}").click()
    expect(page.locator(".messages")).to_contain_text("the CRM is open again")
    blocking.refresh_from_db()
    assert blocking.state == NotificationState.ATTENDED

    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Dashboard", exact=True
    ).click()
    expect(page.locator("main h1")).to_have_text("Dashboard")
    panel = page.locator("[data-notifications-panel]")
    expect(panel).to_contain_text("Reminder: Product demo tomorrow")
    expect(panel).not_to_contain_text("Send the signed contract")
