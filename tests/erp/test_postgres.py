"""The set-based contact write on PostgreSQL: ``UPDATE … FROM (VALUES …)`` with a cast per
column, so that a column of NULLs, decimals, dates and instants is stored as the field stores
it, and more rows than one statement carries."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from nightshift.crm.models import Contact
from nightshift.erp import accounts as erp_accounts
from nightshift.erp.accounts import bulk_set
from nightshift.processes.builtin.account_complementary_data import FIELDS

pytestmark = pytest.mark.postgres


def test_bulk_set_stores_typed_values_and_nulls(accounts):
    contacts = [accounts.contact() for _ in range(3)]
    now = timezone.now()
    values = {
        contacts[0].pk: {
            "first_purchase_date": datetime.date(2020, 2, 29),
            "first_purchase_amount": Decimal("0.01"),
            "last_purchase_date": datetime.date(2026, 11, 1),
            "last_purchase_amount": Decimal("123456789012.34"),
            "accumulated_purchase_amount": Decimal("99999999999999.99"),
            "accumulated_purchase_count": 2_000_000_000,
            "last_quotation_date": None,
            "days_since_last_purchase": 21,
            "last_invoice_code": "NF-ÇÃO-1",
            "complementary_data_updated_at": now,
        },
        # Every nullable column NULL in the other rows: PostgreSQL must not type them as text.
        **{
            contact.pk: {
                **dict.fromkeys(FIELDS),
                "accumulated_purchase_amount": Decimal(0),
                "accumulated_purchase_count": 0,
                "last_invoice_code": "",
                "complementary_data_updated_at": now,
            }
            for contact in contacts[1:]
        },
    }
    assert bulk_set(Contact, FIELDS, values) == 3
    first = Contact.objects.get(pk=contacts[0].pk)
    assert first.first_purchase_date == datetime.date(2020, 2, 29)
    assert first.last_purchase_amount == Decimal("123456789012.34")
    assert first.accumulated_purchase_count == 2_000_000_000
    assert first.last_invoice_code == "NF-ÇÃO-1"
    assert first.complementary_data_updated_at == now
    assert Contact.objects.get(pk=contacts[1].pk).first_purchase_date is None


def test_bulk_set_splits_rows_into_statements(accounts, monkeypatch):
    monkeypatch.setattr(erp_accounts, "ROWS_PER_STATEMENT", 4)
    contacts = [accounts.contact() for _ in range(10)]
    values = {c.pk: {"last_invoice_code": f"NF-{c.pk}"} for c in contacts}
    with CaptureQueriesContext(connection) as captured:
        assert bulk_set(Contact, ["last_invoice_code"], values) == 10
    assert len(captured) == 3
    assert {c.last_invoice_code for c in Contact.objects.all()} == {f"NF-{c.pk}" for c in contacts}
