from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from nightshift.crm import choices
from nightshift.crm.models import (
    Contact,
    CustomerClass,
    CustomerEvent,
    Device,
    Invoice,
    Lead,
    Opportunity,
    PaymentGatewayRequest,
    Product,
    ProductFamily,
    Subscription,
    SubscriptionType,
    Voucher,
    Warehouse,
)

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 11, 2)


@pytest.fixture
def records(operator) -> dict[str, object]:
    """One or two of each published CRM record, enough to tell filters apart."""
    gold = CustomerClass.objects.create(code="GOLD", name="Gold", rank=3)
    ana = Contact.objects.create(
        code="C-001",
        first_name="Ana",
        last_name="Souza",
        email="ana@example.com",
        customer_class=gold,
        account_manager=operator,
    )
    acme = Contact.objects.create(
        code="C-002",
        kind=choices.ContactKind.COMPANY,
        company_name="Acme Ltda",
        email="billing@acme.example",
        status=choices.ContactStatus.INACTIVE,
    )
    subscription = Subscription.objects.create(
        number="S-001",
        contact=ana,
        subscription_type=SubscriptionType.objects.create(code="TV", name="Television"),
        state=choices.SubscriptionState.EFFECTIVE,
        activated_on=DAY,
    )
    invoice = Invoice.objects.create(
        code="INV-001",
        contact=ana,
        subscription=subscription,
        issued_on=DAY,
        amount=Decimal("100.00"),
        balance=Decimal("40.00"),
    )
    Invoice.objects.create(
        code="INV-002",
        contact=acme,
        state=choices.InvoiceState.SETTLED,
        issued_on=DAY - datetime.timedelta(days=40),
        amount=Decimal("50.00"),
        balance=Decimal("0.00"),
    )
    router = Product.objects.create(
        code="RT-1",
        name="Fibre router",
        family=ProductFamily.objects.create(code="HW", name="Hardware"),
        unit_price=Decimal("80.00"),
        is_traceable=True,
    )
    return {
        "contacts": ana,
        "leads": Lead.objects.create(
            code="L-001", first_name="Bia", email="bia@example.com", owner=operator
        ),
        "opportunities": Opportunity.objects.create(
            code="O-001", name="Upgrade to fibre", contact=ana, amount=Decimal("300.00")
        ),
        "subscriptions": subscription,
        "invoices": invoice,
        "customer-events": CustomerEvent.objects.create(
            kind=choices.CustomerEventKind.PURCHASE,
            reference="P-1",
            contact=ana,
            occurred_at=timezone.now(),
            amount=Decimal("80.00"),
            product=router,
        ),
        "products": router,
        "devices": Device.objects.create(
            serial_number="SN-1",
            product=router,
            warehouse=Warehouse.objects.create(code="W1", name="Main store"),
        ),
        "vouchers": Voucher.objects.create(
            code="V-001",
            value=Decimal("10.00"),
            contact=ana,
            valid_from=DAY,
            valid_to=DAY + datetime.timedelta(days=30),
        ),
        "payment-gateway-requests": PaymentGatewayRequest.objects.create(
            reference="PG-1",
            gateway="stripe",
            contact=ana,
            invoice=invoice,
            amount=Decimal("40.00"),
            requested_at=timezone.now(),
        ),
    }


ENDPOINTS = [
    "contacts",
    "leads",
    "opportunities",
    "subscriptions",
    "invoices",
    "customer-events",
    "products",
    "devices",
    "vouchers",
    "payment-gateway-requests",
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_operator_lists_and_reads_crm_records(client, operator, bearer, records, endpoint):
    headers = bearer(operator)
    listing = client.get(f"/api/v1/{endpoint}", headers=headers)
    assert listing.status_code == 200, listing.content
    record = records[endpoint]
    assert record.pk in [item["id"] for item in listing.json()["items"]]

    detail = client.get(f"/api/v1/{endpoint}/{record.pk}", headers=headers)
    assert detail.status_code == 200
    assert detail.json()["id"] == record.pk


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_crm_records_are_refused_with_403_to_users_without_the_view_permission(
    client, outsider, bearer, records, endpoint
):
    headers = bearer(outsider)
    response = client.get(f"/api/v1/{endpoint}", headers=headers)
    assert response.status_code == 403
    assert "crm.view_" in response.json()["detail"]
    assert (
        client.get(f"/api/v1/{endpoint}/{records[endpoint].pk}", headers=headers).status_code == 403
    )


def test_contact_shows_its_related_records_by_code_and_name(client, operator, bearer, records):
    body = client.get("/api/v1/contacts?code=c-001", headers=bearer(operator)).json()
    assert body["count"] == 1
    contact = body["items"][0]
    assert contact["display_name"] == "Ana Souza"
    assert contact["customer_class"]["code"] == "GOLD"
    assert contact["account_manager"]["username"] == "olivia"
    assert contact["status"] == "active"


def test_contacts_filter_by_status_and_search_on_name_or_email(client, operator, bearer, records):
    headers = bearer(operator)

    def codes(query: str) -> list[str]:
        return [
            i["code"]
            for i in client.get(f"/api/v1/contacts?{query}", headers=headers).json()["items"]
        ]

    assert codes("status=inactive") == ["C-002"]
    assert codes("search=souza") == ["C-001"]
    assert codes("search=ACME.example") == ["C-002"]
    assert codes("email=ANA@example.com") == ["C-001"]
    assert codes("customer_class=gold&status=active") == ["C-001"]


def test_unknown_choice_in_a_filter_is_a_422(client, operator, bearer, records):
    response = client.get("/api/v1/contacts?status=sleeping", headers=bearer(operator))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "status"]


def test_invoices_filter_by_state_and_issue_date_range(client, operator, bearer, records):
    headers = bearer(operator)

    def codes(query: str) -> list[str]:
        return [
            i["code"]
            for i in client.get(f"/api/v1/invoices?{query}", headers=headers).json()["items"]
        ]

    assert codes("state=settled") == ["INV-002"]
    assert codes(f"issued_from={DAY}") == ["INV-001"]
    assert codes(f"issued_to={DAY - datetime.timedelta(days=1)}") == ["INV-002"]
    assert codes("min_balance=0.01") == ["INV-001"]
    invoice = client.get("/api/v1/invoices?code=inv-001", headers=headers).json()["items"][0]
    assert invoice["due_on"] == str(DAY + datetime.timedelta(days=30))
    assert invoice["balance"] == "40.00"
    assert invoice["subscription"]["number"] == "S-001"


def test_vouchers_filter_by_the_day_they_are_valid_on(client, operator, bearer, records):
    headers = bearer(operator)
    inside = client.get(
        f"/api/v1/vouchers?valid_on={DAY + datetime.timedelta(days=3)}", headers=headers
    )
    outside = client.get(
        f"/api/v1/vouchers?valid_on={DAY - datetime.timedelta(days=1)}", headers=headers
    )
    assert inside.json()["count"] == 1
    assert outside.json()["count"] == 0


def test_customer_events_filter_by_kind_and_time_range(client, operator, bearer, records):
    headers = bearer(operator)
    an_hour_ago = (timezone.now() - datetime.timedelta(hours=1)).isoformat()
    assert client.get("/api/v1/customer-events?kind=purchase", headers=headers).json()["count"] == 1
    assert client.get("/api/v1/customer-events?kind=referral", headers=headers).json()["count"] == 0
    after = client.get("/api/v1/customer-events", {"occurred_after": an_hour_ago}, headers=headers)
    assert after.json()["count"] == 1


def test_invoice_listing_costs_the_same_queries_for_many_invoices(
    client, operator, bearer, records
):
    headers = bearer(operator)

    def queries_for_listing() -> int:
        client.get("/api/v1/invoices", headers=headers)  # warm: token last-used write
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/invoices", headers=headers).status_code == 200
        return len(queries)

    few = queries_for_listing()
    ana = records["contacts"]
    for number in range(3, 40):
        subscription = Subscription.objects.create(
            number=f"S-{number:03}",
            contact=ana,
            subscription_type=SubscriptionType.objects.get(code="TV"),
        )
        Invoice.objects.create(
            code=f"INV-{number:03}",
            contact=ana,
            subscription=subscription,
            issued_on=DAY,
            amount=Decimal("10.00"),
            balance=Decimal("10.00"),
        )
    assert queries_for_listing() == few
    # token, permissions (user + groups), count, page: the page's relations come joined; and
    # the blocking notifications check (nightshift.alerts.blocking).
    assert few <= 6
