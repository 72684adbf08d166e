from __future__ import annotations

import re

import pytest
from django.urls import reverse

from nightshift.api.actions import create_token
from nightshift.api.models import ApiToken
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.api.urls")]


@pytest.fixture
def signed_in(client, operator):
    client.login(username=operator.username, password=PASSWORD)
    return client


def test_token_pages_require_signing_in(client, operator):
    token, _secret = create_token(user=operator, name="x")
    for url in (reverse("api_tokens"), reverse("api_token_revoke", args=[token.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_list_shows_my_tokens_but_not_other_peoples(signed_in, operator, outsider):
    create_token(user=operator, name="nightly export")
    create_token(user=outsider, name="oscar's script")
    page = signed_in.get(reverse("api_tokens")).content.decode()
    assert "nightly export" in page
    assert "oscar" not in page.split("<main")[1]


def test_creating_a_token_shows_its_secret_once(signed_in, operator):
    response = signed_in.post(reverse("api_tokens"), {"name": "ci", "expires_in_days": "30"})
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    page = response.content.decode()
    secret = re.search(r"nst_[A-Za-z0-9_-]{43}", page).group(0)
    token = ApiToken.objects.get(user=operator)
    assert token.secret_hash == ApiToken.hash_secret(secret)
    assert token.expires_at is not None
    assert "shown only this once" in page

    assert secret not in signed_in.get(reverse("api_tokens")).content.decode()


def test_creating_a_token_without_a_name_shows_the_form_error(signed_in):
    response = signed_in.post(reverse("api_tokens"), {"name": ""})
    assert response.status_code == 200
    assert "field-error" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoke_asks_for_confirmation_then_revokes(signed_in, operator):
    token, _secret = create_token(user=operator, name="old")
    url = reverse("api_token_revoke", args=[token.pk])
    confirm = signed_in.get(url)
    assert confirm.status_code == 200
    assert token.prefix in confirm.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None

    response = signed_in.post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("api_tokens")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_cannot_revoke_someone_elses_token_from_the_page(signed_in, outsider):
    token, _secret = create_token(user=outsider, name="theirs")
    url = reverse("api_token_revoke", args=[token.pk])
    assert signed_in.get(url).status_code == 404
    assert signed_in.post(url).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
