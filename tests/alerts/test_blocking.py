"""Blocking notifications at the door: every page and API call but the notifications page is
refused with the reason; past the deadline the session is ended and signing in again leads to
that page only; attending or an administrator's release opens the CRM again."""

from __future__ import annotations

import datetime

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from nightshift.api.actions import create_token
from nightshift.crm.choices import NotificationKind, NotificationState
from nightshift.crm.models import Notification
from tests.conftest import PASSWORD

from .conftest import at

LOCKED = 423


@pytest.fixture
def block(db):
    def make(
        user, *, title="Overdue task: Call back", deadline=None, kind=NotificationKind.BLOCKING
    ):
        return Notification.objects.create(
            user=user,
            kind=kind,
            title=title,
            subject_key=f"task:{Notification.objects.count() + 1}:overdue",
            deadline=deadline or at(1, 12),
        )

    return make


def sign_in(client: Client, user) -> Client:
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, "could not sign in"
    return client


def texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# -- refused with the reason -----------------------------------------------------------------


def test_a_blocked_user_is_sent_from_any_page_to_the_notifications_page_with_the_reason(
    client, operator, block, clock
):
    notification = block(operator)
    sign_in(client, operator)
    for page in (reverse("web:dashboard"), reverse("runs:board"), reverse("api_tokens")):
        response = client.get(page)
        assert response.status_code == 302
        assert response["Location"] == reverse("alerts:notifications")
    page = client.get(reverse("alerts:notifications"))
    assert page.status_code == 200
    html = page.content.decode()
    assert f"#{notification.pk} Overdue task: Call back" in html  # the reason, as a message
    assert "this is the only page of the CRM you can use" in html
    assert f'action="/notifications/{notification.pk}/attend/"' in html


def test_a_blocked_users_form_post_is_refused_with_423_and_the_reason(
    client, operator, block, clock
):
    notification = block(operator)
    sign_in(client, operator)
    response = client.post(reverse("runs:scheduler_state"), {"running": "1"})
    assert response.status_code == LOCKED
    assert f"#{notification.pk} Overdue task: Call back" in response.content.decode()


def test_the_api_refuses_a_blocked_session_with_423_naming_the_notifications(
    client, operator, block, clock
):
    notification = block(operator)
    sign_in(client, operator)
    response = client.get("/api/v1/units")
    assert response.status_code == LOCKED
    body = response.json()
    assert body["code"] == "blocking_notifications"
    assert f"#{notification.pk} Overdue task: Call back" in body["detail"]
    assert body["notifications"] == [
        {"id": notification.pk, "title": notification.title, "deadline": at(1, 12).isoformat()}
    ]
    assert body["attend_at"] == "/notifications/"


def test_the_api_refuses_a_blocked_users_token_and_still_401s_a_bad_token(
    client, operator, block, clock
):
    _token, secret = create_token(user=operator, name="script")
    notification = block(operator)
    response = client.get("/api/v1/units", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == LOCKED
    assert response.json()["notifications"][0]["id"] == notification.pk
    bad = client.get("/api/v1/units", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_pages_that_stay_reachable_while_blocked(client, operator, block, clock):
    block(operator)
    sign_in(client, operator)
    assert client.get(reverse("alerts:notifications")).status_code == 200
    assert client.get("/api/v1/notifications").status_code == 200
    assert client.get(reverse("web:healthz")).status_code in (200, 503)
    assert client.get("/static/web/nightshift.css").status_code == 200
    switched = client.post(reverse("set_language"), {"language": "pt-br", "next": "/"})
    assert switched.status_code == 302
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("web:dashboard")).status_code == 302  # signed out: to login
    assert client.get(reverse("login")).status_code == 200


def test_non_blocking_and_finished_notifications_do_not_block(client, operator, block, clock):
    block(operator, kind=NotificationKind.NON_BLOCKING)
    attended = block(operator)
    attended.state = NotificationState.ATTENDED
    attended.save()
    sign_in(client, operator)
    assert client.get(reverse("web:dashboard")).status_code == 200
    assert client.get("/api/v1/units").status_code == 200


def test_other_users_are_not_blocked_by_someones_notifications(
    client, operator, archivist, block, clock
):
    block(archivist)
    sign_in(client, operator)
    assert client.get(reverse("web:dashboard")).status_code == 200


# -- attending -------------------------------------------------------------------------------


def test_attending_the_last_blocking_notification_opens_the_crm_again(
    client, operator, block, clock
):
    first, second = block(operator), block(operator, title="Opportunity OPP-1 is past close")
    sign_in(client, operator)
    client.post(reverse("alerts:attend", args=[first.pk]))
    assert client.get(reverse("web:dashboard")).status_code == 302
    response = client.post(reverse("alerts:attend", args=[second.pk]), follow=True)
    assert "the CRM is open again" in response.content.decode()
    assert client.get(reverse("web:dashboard")).status_code == 200
    first.refresh_from_db()
    assert first.state == NotificationState.ATTENDED
    assert first.attended_at == at(0, 12)


def test_attending_someone_elses_notification_is_not_found(client, operator, archivist, block):
    theirs = block(archivist)
    sign_in(client, operator)
    assert client.post(reverse("alerts:attend", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == NotificationState.OPEN


def test_attending_through_the_api_unblocks_the_token(client, operator, block, clock):
    _token, secret = create_token(user=operator, name="script")
    auth = {"Authorization": f"Bearer {secret}"}
    notification = block(operator)
    listed = client.get("/api/v1/notifications?state=open", headers=auth).json()
    assert [n["id"] for n in listed] == [notification.pk]
    attended = client.post(f"/api/v1/notifications/{notification.pk}/attend", headers=auth)
    assert attended.status_code == 200
    assert attended.json()["state"] == "attended"
    assert client.get("/api/v1/units", headers=auth).status_code == 200


# -- deadline passed -------------------------------------------------------------------------


def test_past_the_deadline_the_session_is_ended_and_signing_in_lands_on_the_page(
    client, operator, block, clock
):
    block(operator, deadline=at(0, 18))
    sign_in(client, operator)
    assert client.get(reverse("web:dashboard"))["Location"] == reverse("alerts:notifications")

    clock.move_to(at(0, 18, 1))
    response = client.get(reverse("runs:board"))
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fnotifications%2F"
    assert "You were signed out" in " ".join(texts(response))
    assert "_auth_user_id" not in client.session

    # Signing in again is allowed, to the notifications page only.
    response = client.post(
        "/login/?next=%2Fnotifications%2F",
        {"username": operator.username, "password": PASSWORD, "next": "/notifications/"},
    )
    assert response["Location"] == "/notifications/"
    assert client.get(reverse("alerts:notifications")).status_code == 200
    refused = client.get(reverse("web:dashboard"))
    assert refused["Location"] == reverse("alerts:notifications")  # not signed out again
    assert "_auth_user_id" in client.session


def test_signing_in_after_the_deadline_without_next_still_lands_on_the_page(
    client, operator, block, clock
):
    block(operator, deadline=at(0, 6))  # passed before this sign-in
    response = client.post(
        reverse("login"), {"username": operator.username, "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("alerts:notifications")
    assert response.status_code == 200


# -- release by an administrator -------------------------------------------------------------


def test_an_administrator_releases_a_users_notifications_from_the_ui(
    client, operator, administrator, block, clock
):
    first, second = block(operator), block(operator)
    sign_in(client, administrator)
    page = client.get(reverse("alerts:notifications")).content.decode()
    assert reverse("alerts:user_notifications", args=[operator.pk]) in page  # blocked users
    html = client.get(reverse("alerts:user_notifications", args=[operator.pk])).content.decode()
    assert "Release blocking notifications" in html
    response = client.post(reverse("alerts:release", args=[operator.pk]))
    assert response.status_code == 302
    for notification in (first, second):
        notification.refresh_from_db()
        assert notification.state == NotificationState.RELEASED
        assert notification.released_by == administrator
        assert notification.released_at == at(0, 12)
    operator_client = sign_in(Client(), operator)
    assert operator_client.get(reverse("web:dashboard")).status_code == 200


def test_releasing_only_the_selected_notifications(client, operator, administrator, block):
    first, second = block(operator), block(operator)
    sign_in(client, administrator)
    client.post(reverse("alerts:release", args=[operator.pk]), {"notification": [first.pk]})
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == (NotificationState.RELEASED, NotificationState.OPEN)


def test_a_user_who_is_not_an_administrator_cannot_release(client, operator, archivist, block):
    notification = block(operator)
    sign_in(client, archivist)
    assert client.get(reverse("alerts:user_notifications", args=[operator.pk])).status_code == 403
    assert client.post(reverse("alerts:release", args=[operator.pk])).status_code == 403
    notification.refresh_from_db()
    assert notification.state == NotificationState.OPEN


def test_the_admin_action_releases_the_selected_notifications(
    client, operator, administrator, block
):
    notification = block(operator)
    assert "release_selected" in admin.site._registry[Notification].actions
    sign_in(client, administrator)
    response = client.post(
        reverse("admin:crm_notification_changelist"),
        {"action": "release_selected", "_selected_action": [notification.pk]},
    )
    assert response.status_code == 302
    notification.refresh_from_db()
    assert notification.state == NotificationState.RELEASED
    assert notification.released_by == administrator


def test_the_api_release_needs_an_administrator(client, operator, administrator, block):
    notification = block(operator)
    _token, secret = create_token(user=operator, name="mine")
    url = f"/api/v1/users/{operator.pk}/notifications/release"
    refused = client.post(
        url, {}, content_type="application/json", headers={"Authorization": f"Bearer {secret}"}
    )
    assert refused.status_code == LOCKED  # blocked, and not an administrator anyway
    _token, admin_secret = create_token(user=administrator, name="admin")
    response = client.post(
        url,
        {},
        content_type="application/json",
        headers={"Authorization": f"Bearer {admin_secret}"},
    )
    assert response.status_code == 200
    assert response.json() == {"released": 1}
    notification.refresh_from_db()
    assert notification.state == NotificationState.RELEASED


# -- the dashboard ---------------------------------------------------------------------------


def test_the_dashboard_shows_the_open_reminders(client, operator, block, clock):
    block(operator, kind=NotificationKind.NON_BLOCKING, title="Reminder: task Send contract")
    done = block(operator, kind=NotificationKind.NON_BLOCKING, title="Reminder: old one")
    done.state = NotificationState.ATTENDED
    done.save()
    sign_in(client, operator)
    html = client.get(reverse("web:dashboard")).content.decode()
    assert "data-notifications-panel" in html
    assert "Reminder: task Send contract" in html
    assert "Reminder: old one" not in html
    assert 'href="/notifications/"' in html


def test_the_notifications_page_filters_by_kind_and_state(client, operator, block):
    block(operator, title="Blocking one")
    block(operator, kind=NotificationKind.NON_BLOCKING, title="Reminder one")
    attended = block(operator, kind=NotificationKind.NON_BLOCKING, title="Attended one")
    attended.state = NotificationState.ATTENDED
    attended.save()
    sign_in(client, operator)

    def titles(**query) -> set[str]:
        page = client.get(reverse("alerts:notifications"), query)
        return {n.title for n in page.context["notifications"]}

    assert titles() == {"Blocking one", "Reminder one"}  # open ones by default
    assert titles(kind="non_blocking") == {"Reminder one"}
    assert titles(state="attended") == {"Attended one"}
    assert titles(state="") == {"Blocking one", "Reminder one", "Attended one"}


def test_the_page_is_translated_into_portuguese(client, operator, block):
    block(operator)
    sign_in(client, operator)
    client.post(reverse("set_language"), {"language": "pt-br", "next": "/"})
    html = client.get(reverse("alerts:notifications")).content.decode()
    assert "<h1>Minhas notificações</h1>" in html
    assert "Atender" in html


def test_deadline_is_named_on_the_page(client, operator, block, clock):
    block(operator, deadline=at(1, 12) + datetime.timedelta(hours=1))
    sign_in(client, operator)
    assert "you are signed out" in client.get(reverse("alerts:notifications")).content.decode()
