from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from nightshift.api.actions import create_token, revoke_token
from nightshift.api.models import ApiToken, ApiTokenStatus

pytestmark = pytest.mark.django_db


def tokens_command(*args: str) -> str:
    out = StringIO()
    call_command("tokens", *args, stdout=out)
    return out.getvalue()


def test_created_token_stores_only_a_hash_of_its_secret(operator):
    token, secret = create_token(user=operator, name="export")
    stored = ApiToken.objects.get(pk=token.pk)
    assert secret.startswith("nst_")
    assert stored.prefix == secret[:12]
    assert stored.secret_hash == ApiToken.hash_secret(secret)
    assert secret not in {getattr(stored, field.attname) for field in ApiToken._meta.fields}


def test_created_token_is_stamped_with_its_creator(operator):
    token, _secret = create_token(user=operator, name="export")
    assert token.created_by == operator
    assert token.created_by_unit.code == "HQ"


def test_each_token_gets_a_different_secret(operator):
    assert create_token(user=operator, name="a")[1] != create_token(user=operator, name="b")[1]


def test_token_needs_a_name_and_a_future_expiry(operator):
    with pytest.raises(ValidationError):
        create_token(user=operator, name="  ")
    with pytest.raises(ValidationError):
        create_token(user=operator, name="late", expires_at=timezone.now() - timedelta(days=1))


def test_user_revokes_own_token_and_revoking_again_keeps_the_first_date(operator):
    token, _secret = create_token(user=operator, name="old")
    first = revoke_token(user=operator, token_id=token.pk).revoked_at
    assert first is not None
    assert revoke_token(user=operator, token_id=token.pk).revoked_at == first
    assert ApiToken.objects.get(pk=token.pk).status == ApiTokenStatus.REVOKED


def test_user_cannot_revoke_someone_elses_token(operator, outsider):
    token, _secret = create_token(user=operator, name="mine")
    with pytest.raises(ApiToken.DoesNotExist):
        revoke_token(user=outsider, token_id=token.pk)
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_administrator_revokes_anyones_token(operator, administrator):
    token, _secret = create_token(user=operator, name="leaked")
    revoke_token(user=administrator, token_id=token.pk)
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token.updated_by == administrator


def test_cli_token_works_on_the_api_until_revoked(client, operator):
    created = json.loads(
        tokens_command("create", "--user", "olivia", "--name", "nightly", "--json")
    )
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200

    listed = json.loads(tokens_command("list", "--user", "olivia", "--json"))
    assert [(t["id"], t["name"], t["status"]) for t in listed] == [
        (created["id"], "nightly", "active")
    ]
    assert "token" not in listed[0]

    assert "Revoked" in tokens_command("revoke", str(created["id"]), "--user", "olivia")
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_cli_create_prints_the_secret_once_with_a_warning(operator):
    output = tokens_command("create", "--user", "olivia", "--name", "ci", "--expires-in-days", "30")
    token = ApiToken.objects.get()
    secrets_printed = [line for line in output.splitlines() if line.startswith("nst_")]
    assert len(secrets_printed) == 1
    assert ApiToken.hash_secret(secrets_printed[0]) == token.secret_hash
    assert "shown only once" in output
    assert token.expires_at - timezone.now() > timedelta(days=29)


def test_cli_user_defaults_to_nightshift_user(operator, monkeypatch):
    monkeypatch.setenv("NIGHTSHIFT_USER", "olivia")
    tokens_command("create", "--name", "from env")
    assert ApiToken.objects.get().user == operator


def test_cli_without_a_user_says_how_to_give_one(db, monkeypatch):
    monkeypatch.delenv("NIGHTSHIFT_USER", raising=False)
    with pytest.raises(CommandError, match="NIGHTSHIFT_USER"):
        tokens_command("list")


def test_cli_refuses_to_revoke_someone_elses_token(operator, outsider):
    token, _secret = create_token(user=operator, name="mine")
    with pytest.raises(CommandError, match="may revoke"):
        tokens_command("revoke", str(token.pk), "--user", "oscar")


def test_cli_list_in_text_never_shows_secrets(operator):
    _token, secret = create_token(user=operator, name="export")
    output = tokens_command("list", "--user", "olivia")
    assert "export" in output
    assert secret not in output
