"""The account routines' fixtures (tests/erp/fixtures.py) for the tests of the ERP app."""

from tests.erp.fixtures import (  # noqa: F401 — fixtures pytest finds by name
    accounts_fixture,
    classes_fixture,
    erp_server_fixture,
    frozen_today_fixture,
    run_routine_fixture,
)
