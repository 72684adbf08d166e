from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User

from nightshift.api.actions import create_token


@pytest.fixture
def make_token(db) -> Callable[..., str]:
    """Create a token for a user and return its secret."""

    def make(user: User, name: str = "script", **fields) -> str:
        _token, secret = create_token(user=user, name=name, **fields)
        return secret

    return make


@pytest.fixture
def bearer(make_token) -> Callable[[User], dict[str, str]]:
    """Request headers that authenticate as ``user`` with a fresh token."""

    def headers(user: User) -> dict[str, str]:
        return {"Authorization": f"Bearer {make_token(user)}"}

    return headers
