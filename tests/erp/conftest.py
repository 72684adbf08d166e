"""The account routines' fixtures (tests/erp/fixtures.py) for the tests of the ERP app."""

from tests.erp.fixtures import (  # noqa: F401 — fixtures pytest finds by name
    accounts,
    classes,
    erp_server,
    frozen_today,
    run_routine,
)
