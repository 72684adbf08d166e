"""Shared fixtures. Personas follow the healthchecks style: an operator, a designated
archivist, an administrator, and an outsider who must be refused."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User

from nightshift.core import roles
from nightshift.core.models import Unit, UserProfile

PASSWORD = "correct horse battery staple"

# The browser tests' Chromium page and sign-in step, shared by every test package.
pytest_plugins = ["tests.browser"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness protects real passwords; in tests it only burns CPU.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _postgres_required(request):
    """A PostgreSQL test run without PostgreSQL fails: never a silent skip."""
    if request.node.get_closest_marker("postgres"):
        engine = settings.DATABASES["default"]["ENGINE"]
        if not engine.endswith("postgresql"):
            pytest.fail(f"needs DATABASE_URL pointing at PostgreSQL; the database is {engine}")


@pytest.fixture
def unit(db) -> Unit:
    return Unit.objects.create(code="HQ", name="Head office")


@pytest.fixture
def make_user(db, unit):
    def make(username: str, *groups: str, **fields) -> User:
        user = User.objects.create_user(username=username, password=PASSWORD, **fields)
        UserProfile.objects.create(user=user, unit=unit)
        user.groups.add(*Group.objects.filter(name__in=groups))
        return user

    return make


@pytest.fixture
def operator(make_user) -> User:
    return make_user("olivia", roles.OPERATORS, email="olivia@example.com")


@pytest.fixture
def archivist(make_user) -> User:
    return make_user("arthur", roles.ARCHIVISTS, email="arthur@example.com")


@pytest.fixture
def administrator(make_user) -> User:
    return make_user("ada", roles.ADMINISTRATORS, email="ada@example.com", is_staff=True)


@pytest.fixture
def outsider(make_user) -> User:
    return make_user("oscar", email="oscar@example.com")
