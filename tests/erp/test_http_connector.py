"""The HTTP JSON connector against a real HTTP server on loopback: the protocol, batching,
the token, per-account errors and failures of the whole exchange."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest

from nightshift.crm.choices import ContactStatus
from nightshift.erp.connectors import (
    ErpError,
    ErpRecordError,
    PurchaseSummary,
    PurchaseTotal,
    get_connector,
)
from nightshift.erp.connectors.http import HttpConnector
from tests.erp.fixtures import TODAY, TOKEN, days_ago

BATCH = {1: "CUS-00001", 2: "CUS-00002", 3: "CUS-00003"}


def test_purchase_summaries_are_asked_by_account_code_with_the_token(erp_server):
    erp_server.answers["accounts/purchase-summaries"] = {
        "CUS-00001": {
            "first_purchase_date": "2024-02-29",
            "first_purchase_amount": "1500.00",
            "last_purchase_date": "2026-11-01",
            "last_purchase_amount": "99.90",
            "accumulated_purchase_amount": "12345.67",
            "accumulated_purchase_count": 42,
            "last_quotation_date": "2026-10-15",
            "last_invoice_code": "NF-000123",
        },
        "NOT-ASKED": {"accumulated_purchase_count": 1},
    }
    connector = get_connector()
    assert isinstance(connector, HttpConnector)

    answer = connector.purchase_summaries(BATCH, as_of=TODAY)

    assert answer == {
        1: PurchaseSummary(
            first_purchase_date=datetime.date(2024, 2, 29),
            first_purchase_amount=Decimal("1500.00"),
            last_purchase_date=datetime.date(2026, 11, 1),
            last_purchase_amount=Decimal("99.90"),
            accumulated_purchase_amount=Decimal("12345.67"),
            accumulated_purchase_count=42,
            last_quotation_date=datetime.date(2026, 10, 15),
            last_invoice_code="NF-000123",
        )
    }
    (request,) = erp_server.requests
    assert request["path"] == "accounts/purchase-summaries"
    assert request["authorization"] == f"Bearer {TOKEN}"
    assert request["body"] == {"accounts": list(BATCH.values()), "as_of": "2026-11-22"}


def test_statuses_accept_an_object_or_a_bare_string(erp_server):
    erp_server.answers["accounts/statuses"] = {
        "CUS-00001": {"status": "active"},
        "CUS-00002": "inactive",
    }
    answer = get_connector().account_statuses(BATCH, as_of=TODAY)
    assert answer == {1: ContactStatus.ACTIVE, 2: ContactStatus.INACTIVE}


def test_purchase_totals_send_the_window(erp_server):
    erp_server.answers["accounts/purchase-totals"] = {"CUS-00003": {"amount": "10.5", "count": 2}}
    answer = get_connector().purchase_totals(BATCH, since=days_ago(89), as_of=TODAY)
    assert answer == {3: PurchaseTotal(amount=Decimal("10.5"), count=2)}
    assert erp_server.requests[0]["body"]["since"] == "2026-08-25"


def test_a_batch_is_sent_in_requests_of_the_configured_size(erp_server, settings):
    settings.NIGHTSHIFT_ERP_BATCH = 2
    batch = {pk: f"CUS-{pk:05d}" for pk in range(1, 6)}
    get_connector().account_statuses(batch, as_of=TODAY)
    assert [len(r["body"]["accounts"]) for r in erp_server.requests] == [2, 2, 1]


def test_a_malformed_entry_is_an_error_for_that_account_only(erp_server):
    erp_server.answers["accounts/purchase-summaries"] = {
        "CUS-00001": {"last_purchase_date": "31/12/2025"},
        "CUS-00002": {"accumulated_purchase_count": 3},
    }
    answer = get_connector().purchase_summaries(BATCH, as_of=TODAY)
    assert isinstance(answer[1], ErpRecordError)
    assert "CUS-00001" in answer[1].message
    assert "last_purchase_date" in answer[1].message
    assert answer[2] == PurchaseSummary(accumulated_purchase_count=3)


def test_an_unknown_status_is_an_error_for_that_account(erp_server):
    erp_server.answers["accounts/statuses"] = {"CUS-00001": "blocked"}
    (answer,) = get_connector().account_statuses(BATCH, as_of=TODAY).values()
    assert isinstance(answer, ErpRecordError)
    assert "status" in answer.message


def test_a_refused_token_fails_naming_the_setting(erp_server, settings):
    settings.NIGHTSHIFT_ERP_TOKEN = "wrong"
    with pytest.raises(ErpError, match=r"refused the credentials \(check NIGHTSHIFT_ERP_TOKEN"):
        get_connector().account_statuses(BATCH, as_of=TODAY)


def test_a_server_error_fails_with_the_status_and_the_erps_message(erp_server):
    erp_server.status = 503
    with pytest.raises(ErpError) as caught:
        get_connector().account_statuses(BATCH, as_of=TODAY)
    message = str(caught.value)
    assert erp_server.url + "/accounts/statuses" in message
    assert "HTTP 503" in message
    assert "database offline" in message


def test_an_answer_that_is_not_json_fails(erp_server):
    erp_server.raw_body = b"<html>proxy error</html>"
    with pytest.raises(ErpError, match="not JSON: <html>proxy error</html>"):
        get_connector().account_statuses(BATCH, as_of=TODAY)


def test_json_without_accounts_fails_naming_the_expected_shape(erp_server):
    erp_server.raw_body = b'{"data": []}'
    with pytest.raises(ErpError, match="without an “accounts” object"):
        get_connector().account_statuses(BATCH, as_of=TODAY)


def test_an_erp_that_does_not_answer_in_time_fails_naming_the_timeout(erp_server, settings):
    settings.NIGHTSHIFT_ERP_TIMEOUT = 0.2
    erp_server.delay = threading.Event()
    with pytest.raises(ErpError, match=r"no answer within 0.2 s \(NIGHTSHIFT_ERP_TIMEOUT\)"):
        get_connector().account_statuses(BATCH, as_of=TODAY)


def test_an_erp_that_cannot_be_reached_fails(settings):
    settings.NIGHTSHIFT_ERP_CONNECTOR = "http"
    settings.NIGHTSHIFT_ERP_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    with pytest.raises(ErpError, match="cannot be reached"):
        get_connector().account_statuses(BATCH, as_of=TODAY)
