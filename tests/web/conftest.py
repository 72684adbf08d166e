from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from tests.conftest import PASSWORD


@pytest.fixture(scope="session", autouse=True)
def _compiled_catalogues() -> None:
    """The .mo files are build output (`make messages`); compile them so these tests also pass
    when run on their own. Done once, before any test here activates Portuguese, because Django
    caches a language's catalogue the first time it is used."""
    call_command("compile_catalogues", verbosity=0)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    django_db_modify_db_settings_parallel_suffix: None,
) -> None:
    """A session with browser tests gets a SQLite test database in a file, not in memory.

    In the browser tests the live server's thread and a worker thread write to the database
    at the same time. SQLite's in-memory test database (shared cache) refuses a write while
    another connection writes ("database table is locked"); a file in WAL mode makes the
    second writer wait, as in production.
    """
    database = django_settings.DATABASES["default"]
    browser = any(item.get_closest_marker("browser") for item in request.session.items)
    if browser and database["ENGINE"].endswith("sqlite3"):
        path = tmp_path_factory.mktemp("database") / "browser.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(path)


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings) -> None:
    # The production hasher is slow on purpose; every test here hashes twice (user, sign-in).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _default_language():
    """LocaleMiddleware leaves the last request's language active in the thread; go back to
    the default so no test inherits Portuguese from the one before."""
    yield
    translation.deactivate()


@pytest.fixture
def signed_in(client: Client, operator) -> Client:
    """The test client signed in as the operator, through the real login form."""
    response = client.post("/login/", {"username": operator.username, "password": PASSWORD})
    assert response.status_code == 302, "the operator could not sign in"
    return client
