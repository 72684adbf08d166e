from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from nightshift.api.actions import create_token, revoke_token
from nightshift.api.models import ApiToken
from nightshift.core.audit import current_actor
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"


def assert_refused(response, detail_part: str) -> None:
    assert response.status_code == 401  # never a 302 to the login page
    assert response["Content-Type"].startswith("application/json")
    assert detail_part in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_request_without_credentials_is_refused_with_401_not_a_redirect(client):
    assert_refused(client.get(ME), "Authorization: Bearer")


def test_unknown_token_is_refused(client, operator):
    create_token(user=operator, name="real")
    assert_refused(client.get(ME, headers={"Authorization": "Bearer nst_guessed"}), "Invalid")


def test_non_bearer_authorization_header_is_refused(client, operator):
    response = client.get(ME, headers={"Authorization": "Basic b2xpdmlhOnB3"})
    assert_refused(response, "Bearer <token>")


def test_revoked_token_is_refused(client, operator):
    token, secret = create_token(user=operator, name="old")
    revoke_token(user=operator, token_id=token.pk)
    assert_refused(client.get(ME, headers={"Authorization": f"Bearer {secret}"}), "revoked")


def test_expired_token_is_refused(client, operator):
    expires_at = timezone.now() + timedelta(days=1)
    _token, secret = create_token(user=operator, name="short", expires_at=expires_at)
    with time_machine.travel(expires_at + timedelta(seconds=1)):
        response = client.get(ME, headers={"Authorization": f"Bearer {secret}"})
    assert_refused(response, "expired")


def test_token_of_a_disabled_account_is_refused(client, operator, make_token):
    secret = make_token(operator)
    operator.is_active = False
    operator.save()
    assert_refused(client.get(ME, headers={"Authorization": f"Bearer {secret}"}), "disabled")


def test_bad_token_is_refused_even_with_a_signed_in_session(client, operator):
    client.login(username=operator.username, password=PASSWORD)
    assert_refused(client.get(ME, headers={"Authorization": "Bearer nst_wrong"}), "Invalid")


def test_valid_token_authenticates_as_its_user(client, operator, make_token):
    secret = make_token(operator)
    response = client.get(ME, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "olivia"
    assert body["groups"] == ["Operators"]
    assert body["unit"]["code"] == "HQ"
    assert body["authenticated_by"] == "token"


def test_browser_session_authenticates_for_the_docs_page(client, operator):
    client.login(username=operator.username, password=PASSWORD)
    response = client.get(ME)
    assert response.status_code == 200
    assert response.json()["authenticated_by"] == "session"


def test_last_used_is_written_at_most_once_a_minute(client, operator):
    token, secret = create_token(user=operator, name="busy")
    headers = {"Authorization": f"Bearer {secret}"}
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.get(ME, headers=headers)
    token.refresh_from_db()
    assert token.last_used_at == start

    with time_machine.travel(start + timedelta(seconds=59), tick=False):
        client.get(ME, headers=headers)
    token.refresh_from_db()
    assert token.last_used_at == start

    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        client.get(ME, headers=headers)
    token.refresh_from_db()
    assert token.last_used_at == start + timedelta(seconds=61)


def test_recording_a_use_does_not_count_as_an_edit(client, operator):
    token, secret = create_token(user=operator, name="busy")
    client.get(ME, headers={"Authorization": f"Bearer {secret}"})
    reloaded = ApiToken.objects.get(pk=token.pk)
    assert reloaded.last_used_at is not None
    assert reloaded.updated_at == token.updated_at


@pytest.mark.urls("tests.api.probe_urls")
def test_operations_run_with_the_token_user_as_audit_actor(client, operator, make_token):
    response = client.get(
        "/probe/actor", headers={"Authorization": f"Bearer {make_token(operator)}"}
    )
    assert response.json() == {"actor": "olivia"}
    assert current_actor() is None
