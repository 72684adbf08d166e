"""The connector registry and setting, and the default connector (the CRM's own purchase
events and invoices) on realistic account histories."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.module_loading import import_string

from nightshift.crm.choices import ContactStatus, InvoiceState
from nightshift.crm.models import Invoice
from nightshift.erp.connectors import (
    ErpConnector,
    ErpDisabled,
    ErpError,
    PurchaseSummary,
    PurchaseTotal,
    get_connector,
    registered_connectors,
)
from nightshift.erp.connectors.crm import CrmConnector
from nightshift.erp.connectors.http import HttpConnector
from nightshift.processes.base import ProcessFailed
from tests.erp.fixtures import TODAY, days_ago


class FixedConnector(ErpConnector):
    """A connector class named by its dotted path (not registered)."""

    key = "fixed"
    label = "fixed"


def test_the_crm_connector_is_the_default(settings):
    del settings.NIGHTSHIFT_ERP_CONNECTOR
    assert isinstance(get_connector(), CrmConnector)


def test_registered_connectors_are_crm_and_http():
    assert registered_connectors() == {"crm": CrmConnector, "http": HttpConnector}


def test_a_dotted_path_selects_a_connector_class(settings):
    path = f"{FixedConnector.__module__}.FixedConnector"
    settings.NIGHTSHIFT_ERP_CONNECTOR = path
    assert isinstance(get_connector(), import_string(path))


@pytest.mark.parametrize("value", ["none", "", "off", "NONE"])
def test_no_erp_integration_is_a_process_failure_naming_the_setting(settings, value):
    settings.NIGHTSHIFT_ERP_CONNECTOR = value
    with pytest.raises(ErpDisabled, match="No ERP integration is active") as caught:
        get_connector()
    assert isinstance(caught.value, ProcessFailed)
    assert "NIGHTSHIFT_ERP_CONNECTOR" in str(caught.value)


def test_an_unknown_connector_names_the_known_ones(settings):
    settings.NIGHTSHIFT_ERP_CONNECTOR = "sap"
    with pytest.raises(ErpError, match=r"“sap”\. Known: crm, http\."):
        get_connector()


def test_the_http_connector_needs_its_url(settings):
    settings.NIGHTSHIFT_ERP_CONNECTOR = "http"
    settings.NIGHTSHIFT_ERP_URL = ""
    with pytest.raises(ErpError, match="NIGHTSHIFT_ERP_URL is not set"):
        get_connector()
    settings.NIGHTSHIFT_ERP_URL = "ftp://erp.example.com"
    with pytest.raises(ErpError, match="must start with http"):
        get_connector()


# -- the CRM connector ---------------------------------------------------------------------


def test_purchase_summary_from_purchase_events_invoices_and_quotations(accounts):
    maria = accounts.contact()
    accounts.purchase(maria, "120.50", days_ago(400), invoice="NF-OLD")
    accounts.purchase(maria, "80.00", days_ago(200))
    accounts.purchase(maria, "35.25", days_ago(10), invoice="NF-EVENT")
    accounts.invoice(maria, days_ago(30))
    latest = accounts.invoice(maria, days_ago(12))
    cancelled = accounts.invoice(maria, days_ago(2))
    Invoice.objects.filter(pk=cancelled.pk).update(state=InvoiceState.CANCELLED)
    accounts.quotation(maria, days_ago(50))
    accounts.quotation(maria, days_ago(20))
    never = accounts.contact()

    answer = CrmConnector().purchase_summaries(
        {maria.pk: maria.code, never.pk: never.code}, as_of=TODAY
    )

    assert answer == {
        maria.pk: PurchaseSummary(
            first_purchase_date=days_ago(400),
            first_purchase_amount=Decimal("120.50"),
            last_purchase_date=days_ago(10),
            last_purchase_amount=Decimal("35.25"),
            accumulated_purchase_amount=Decimal("235.75"),
            accumulated_purchase_count=3,
            last_quotation_date=days_ago(20),
            last_invoice_code=latest.code,
        )
    }


def test_last_invoice_code_falls_back_to_the_last_purchase(accounts):
    joao = accounts.contact()
    accounts.purchase(joao, "10.00", days_ago(5), invoice="NF-777")
    summary = CrmConnector().purchase_summaries({joao.pk: joao.code}, as_of=TODAY)[joao.pk]
    assert summary.last_invoice_code == "NF-777"


def test_statuses_active_inactive_and_not_integrated(accounts, settings):
    settings.NIGHTSHIFT_ERP_ACTIVE_MONTHS = 12
    buying = accounts.contact()
    accounts.purchase(buying, "10.00", days_ago(100))
    lapsed = accounts.contact()
    accounts.purchase(lapsed, "10.00", days_ago(400))
    billed = accounts.contact()
    accounts.invoice(billed, days_ago(30))
    crm_only = accounts.contact()
    batch = {c.pk: c.code for c in (buying, lapsed, billed, crm_only)}

    assert CrmConnector().account_statuses(batch, as_of=TODAY) == {
        buying.pk: ContactStatus.ACTIVE,
        lapsed.pk: ContactStatus.INACTIVE,
        billed.pk: ContactStatus.ACTIVE,
    }


def test_purchase_totals_count_the_window_inclusively(accounts):
    ana = accounts.contact()
    accounts.purchase(ana, "100.00", days_ago(91))
    accounts.purchase(ana, "200.00", days_ago(90))
    accounts.purchase(ana, "300.00", TODAY)
    accounts.purchase(ana, "999.00", TODAY + datetime.timedelta(days=1))

    totals = CrmConnector().purchase_totals({ana.pk: ana.code}, since=days_ago(90), as_of=TODAY)

    assert totals == {ana.pk: PurchaseTotal(amount=Decimal("500.00"), count=2)}


def test_the_crm_connector_asks_a_constant_number_of_queries(accounts):
    def queries(size: int) -> int:
        contacts = [accounts.contact() for _ in range(size)]
        for contact in contacts:
            accounts.purchase(contact, "10.00", days_ago(3))
            accounts.invoice(contact, days_ago(3))
        batch = {c.pk: c.code for c in contacts}
        connector = CrmConnector()
        with CaptureQueriesContext(connection) as captured:
            connector.purchase_summaries(batch, as_of=TODAY)
            connector.account_statuses(batch, as_of=TODAY)
            connector.purchase_totals(batch, since=days_ago(30), as_of=TODAY)
        return len(captured)

    assert queries(3) == queries(30) == 4
