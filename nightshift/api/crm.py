"""Read endpoints for the CRM records: list (paginated, filtered) and detail for each.

Every filter is optional and they combine with AND. Codes and e-mails match without regard to
case; ``search`` looks for the text in names, codes and e-mails; ``*_after``/``*_before`` (and
``*_from``/``*_to`` for dates) are inclusive bounds. Choice filters take the stored value
(``?state=effective``); an unknown value is a 422 listing the valid ones.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from ninja import FilterLookup, FilterSchema, Router, Schema

from nightshift.api.resources import publish_model
from nightshift.api.schemas import CodeRef, UserRef
from nightshift.crm.choices import (
    ContactKind,
    ContactStatus,
    CustomerEventKind,
    DeviceState,
    InvoiceState,
    LeadState,
    OpportunityStage,
    PaymentGatewayRequestState,
    SubscriptionState,
    VoucherState,
)
from nightshift.crm.models import (
    Contact,
    CustomerEvent,
    Device,
    Invoice,
    Lead,
    Opportunity,
    PaymentGatewayRequest,
    Product,
    Subscription,
    Voucher,
)

router = Router()

# The filter annotations repeat one pattern; these keep each filter to one readable line. Plain
# assignments, not `type` statements: Ninja does not see through a TypeAliasType.
Text = str | None
Day = date | None
Moment = datetime | None


# References to related records ---------------------------------------------------------------


class ContactRef(Schema):
    id: int
    code: str
    name: str

    @staticmethod
    def resolve_name(contact: Contact) -> str:
        return contact.display_name


class NamedRef(Schema):
    id: int
    name: str


class InvoiceRef(Schema):
    id: int
    code: str


class SubscriptionRef(Schema):
    id: int
    number: str


# Contacts ------------------------------------------------------------------------------------


class ContactOut(Schema):
    id: int
    code: str
    kind: ContactKind
    display_name: str
    first_name: str
    last_name: str
    company_name: str
    email: str
    phone: str
    birth_date: date | None
    address: str
    city: str
    state_province: str
    zip_code: str
    country: str
    language: str
    status: ContactStatus
    classification: NamedRef | None
    customer_class: CodeRef | None
    account_manager: UserRef | None
    first_purchase_date: date | None
    first_purchase_amount: Decimal | None
    last_purchase_date: date | None
    last_purchase_amount: Decimal | None
    accumulated_purchase_amount: Decimal
    accumulated_purchase_count: int
    last_quotation_date: date | None
    days_since_last_purchase: int | None
    last_invoice_code: str
    complementary_data_updated_at: datetime | None
    created_at: datetime
    updated_at: datetime


CONTACT_SEARCH = [
    "code__icontains",
    "first_name__icontains",
    "last_name__icontains",
    "company_name__icontains",
    "email__icontains",
]


class ContactFilter(FilterSchema):
    code: Annotated[Text, FilterLookup("code__iexact")] = None
    status: Annotated[ContactStatus | None, FilterLookup("status")] = None
    kind: Annotated[ContactKind | None, FilterLookup("kind")] = None
    email: Annotated[Text, FilterLookup("email__iexact")] = None
    city: Annotated[Text, FilterLookup("city__iexact")] = None
    country: Annotated[Text, FilterLookup("country__iexact")] = None
    customer_class: Annotated[Text, FilterLookup("customer_class__code__iexact")] = None
    classification: Annotated[Text, FilterLookup("classification__name__iexact")] = None
    account_manager: Annotated[Text, FilterLookup("account_manager__username")] = None
    search: Annotated[Text, FilterLookup(CONTACT_SEARCH)] = None
    birth_date_from: Annotated[Day, FilterLookup("birth_date__gte")] = None
    birth_date_to: Annotated[Day, FilterLookup("birth_date__lte")] = None
    last_purchase_from: Annotated[Day, FilterLookup("last_purchase_date__gte")] = None
    last_purchase_to: Annotated[Day, FilterLookup("last_purchase_date__lte")] = None
    created_after: Annotated[Moment, FilterLookup("created_at__gte")] = None
    created_before: Annotated[Moment, FilterLookup("created_at__lte")] = None
    updated_after: Annotated[Moment, FilterLookup("updated_at__gte")] = None


# Leads and opportunities ---------------------------------------------------------------------


class LeadOut(Schema):
    id: int
    code: str
    first_name: str
    last_name: str
    company_name: str
    email: str
    phone: str
    source: str
    state: LeadState
    owner: UserRef | None
    contact: ContactRef | None
    nurture_step: int
    nurture_started_at: datetime | None
    next_email_date: date | None
    last_email_sent_at: datetime | None
    replied_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime


LEAD_SEARCH = [
    "code__icontains",
    "first_name__icontains",
    "last_name__icontains",
    "company_name__icontains",
    "email__icontains",
]


class LeadFilter(FilterSchema):
    code: Annotated[Text, FilterLookup("code__iexact")] = None
    state: Annotated[LeadState | None, FilterLookup("state")] = None
    source: Annotated[Text, FilterLookup("source__iexact")] = None
    owner: Annotated[Text, FilterLookup("owner__username")] = None
    email: Annotated[Text, FilterLookup("email__iexact")] = None
    search: Annotated[Text, FilterLookup(LEAD_SEARCH)] = None
    next_email_from: Annotated[Day, FilterLookup("next_email_date__gte")] = None
    next_email_to: Annotated[Day, FilterLookup("next_email_date__lte")] = None
    created_after: Annotated[Moment, FilterLookup("created_at__gte")] = None
    created_before: Annotated[Moment, FilterLookup("created_at__lte")] = None


class OpportunityOut(Schema):
    id: int
    code: str
    name: str
    contact: ContactRef
    stage: OpportunityStage
    amount: Decimal
    expected_close_date: date | None
    owner: UserRef | None
    reminder_at: datetime | None
    parc_agreement_id: int | None
    created_at: datetime
    updated_at: datetime


class OpportunityFilter(FilterSchema):
    code: Annotated[Text, FilterLookup("code__iexact")] = None
    stage: Annotated[OpportunityStage | None, FilterLookup("stage")] = None
    contact: Annotated[Text, FilterLookup("contact__code__iexact")] = None
    owner: Annotated[Text, FilterLookup("owner__username")] = None
    search: Annotated[Text, FilterLookup(["code__icontains", "name__icontains"])] = None
    expected_close_from: Annotated[Day, FilterLookup("expected_close_date__gte")] = None
    expected_close_to: Annotated[Day, FilterLookup("expected_close_date__lte")] = None
    created_after: Annotated[Moment, FilterLookup("created_at__gte")] = None
    created_before: Annotated[Moment, FilterLookup("created_at__lte")] = None


# Subscriptions and billing -------------------------------------------------------------------


class SubscriptionOut(Schema):
    id: int
    number: str
    contact: ContactRef
    subscription_type: CodeRef
    state: SubscriptionState
    activated_on: date | None
    short_term_start_date: date | None
    short_term_end_date: date | None
    deactivated_on: date | None
    created_at: datetime
    updated_at: datetime


class SubscriptionFilter(FilterSchema):
    number: Annotated[Text, FilterLookup("number__iexact")] = None
    state: Annotated[SubscriptionState | None, FilterLookup("state")] = None
    contact: Annotated[Text, FilterLookup("contact__code__iexact")] = None
    subscription_type: Annotated[Text, FilterLookup("subscription_type__code__iexact")] = None
    activated_from: Annotated[Day, FilterLookup("activated_on__gte")] = None
    activated_to: Annotated[Day, FilterLookup("activated_on__lte")] = None
    short_term_end_from: Annotated[Day, FilterLookup("short_term_end_date__gte")] = None
    short_term_end_to: Annotated[Day, FilterLookup("short_term_end_date__lte")] = None
    created_after: Annotated[Moment, FilterLookup("created_at__gte")] = None
    created_before: Annotated[Moment, FilterLookup("created_at__lte")] = None


class InvoiceOut(Schema):
    id: int
    code: str
    contact: ContactRef
    subscription: SubscriptionRef | None
    state: InvoiceState
    issued_on: date
    due_on: date
    payment_terms_days: int
    amount: Decimal
    penalty_amount: Decimal
    balance: Decimal
    currency: str
    reminder_at: datetime | None
    created_at: datetime
    updated_at: datetime


class InvoiceFilter(FilterSchema):
    code: Annotated[Text, FilterLookup("code__iexact")] = None
    state: Annotated[InvoiceState | None, FilterLookup("state")] = None
    contact: Annotated[Text, FilterLookup("contact__code__iexact")] = None
    subscription: Annotated[Text, FilterLookup("subscription__number__iexact")] = None
    issued_from: Annotated[Day, FilterLookup("issued_on__gte")] = None
    issued_to: Annotated[Day, FilterLookup("issued_on__lte")] = None
    min_balance: Annotated[Decimal | None, FilterLookup("balance__gte")] = None
    currency: Annotated[Text, FilterLookup("currency__iexact")] = None


class PaymentGatewayRequestOut(Schema):
    id: int
    reference: str
    gateway: str
    contact: ContactRef
    invoice: InvoiceRef | None
    amount: Decimal
    currency: str
    state: PaymentGatewayRequestState
    requested_at: datetime
    responded_at: datetime | None
    response_code: str
    response_message: str
    created_at: datetime
    updated_at: datetime


class PaymentGatewayRequestFilter(FilterSchema):
    reference: Annotated[Text, FilterLookup("reference__iexact")] = None
    gateway: Annotated[Text, FilterLookup("gateway__iexact")] = None
    state: Annotated[PaymentGatewayRequestState | None, FilterLookup("state")] = None
    contact: Annotated[Text, FilterLookup("contact__code__iexact")] = None
    invoice: Annotated[Text, FilterLookup("invoice__code__iexact")] = None
    requested_after: Annotated[Moment, FilterLookup("requested_at__gte")] = None
    requested_before: Annotated[Moment, FilterLookup("requested_at__lte")] = None


# Customer events -----------------------------------------------------------------------------


class CustomerEventOut(Schema):
    id: int
    kind: CustomerEventKind
    reference: str
    contact: ContactRef
    occurred_at: datetime
    amount: Decimal | None
    currency: str
    product: CodeRef | None
    invoice_code: str
    related_event_id: int | None
    referred_contact: ContactRef | None
    description: str
    created_at: datetime
    updated_at: datetime
    # Set when the related event was archived: this event is then read-only.
    archived_related_event: int | None
    archived_related_event_archive: int | None
    read_only: bool

    @staticmethod
    def resolve_read_only(event: CustomerEvent) -> bool:
        return event.is_archive_read_only


class CustomerEventFilter(FilterSchema):
    kind: Annotated[CustomerEventKind | None, FilterLookup("kind")] = None
    reference: Annotated[Text, FilterLookup("reference__iexact")] = None
    contact: Annotated[Text, FilterLookup("contact__code__iexact")] = None
    product: Annotated[Text, FilterLookup("product__code__iexact")] = None
    invoice_code: Annotated[Text, FilterLookup("invoice_code__iexact")] = None
    occurred_after: Annotated[Moment, FilterLookup("occurred_at__gte")] = None
    occurred_before: Annotated[Moment, FilterLookup("occurred_at__lte")] = None


# Catalogue, devices and vouchers ---------------------------------------------------------------


class ProductOut(Schema):
    id: int
    code: str
    name: str
    description: str
    family: CodeRef | None
    is_service: bool
    is_traceable: bool
    unit_price: Decimal
    is_active: bool
    created_at: datetime
    updated_at: datetime


class ProductFilter(FilterSchema):
    code: Annotated[Text, FilterLookup("code__iexact")] = None
    family: Annotated[Text, FilterLookup("family__code__iexact")] = None
    is_active: Annotated[bool | None, FilterLookup("is_active")] = None
    is_service: Annotated[bool | None, FilterLookup("is_service")] = None
    search: Annotated[Text, FilterLookup(["code__icontains", "name__icontains"])] = None


class DeviceOut(Schema):
    id: int
    serial_number: str
    product: CodeRef
    warehouse: CodeRef | None
    contact: ContactRef | None
    state: DeviceState
    installed_on: date | None
    created_at: datetime
    updated_at: datetime


class DeviceFilter(FilterSchema):
    serial_number: Annotated[Text, FilterLookup("serial_number__iexact")] = None
    state: Annotated[DeviceState | None, FilterLookup("state")] = None
    product: Annotated[Text, FilterLookup("product__code__iexact")] = None
    warehouse: Annotated[Text, FilterLookup("warehouse__code__iexact")] = None
    contact: Annotated[Text, FilterLookup("contact__code__iexact")] = None
    installed_from: Annotated[Day, FilterLookup("installed_on__gte")] = None
    installed_to: Annotated[Day, FilterLookup("installed_on__lte")] = None


class VoucherOut(Schema):
    id: int
    code: str
    state: VoucherState
    value: Decimal
    currency: str
    contact: ContactRef | None
    valid_from: date
    valid_to: date
    redeemed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class VoucherFilter(FilterSchema):
    code: Annotated[Text, FilterLookup("code__iexact")] = None
    state: Annotated[VoucherState | None, FilterLookup("state")] = None
    contact: Annotated[Text, FilterLookup("contact__code__iexact")] = None
    # Both bounds at once: the vouchers usable on that day.
    valid_on: Annotated[
        Day, FilterLookup(["valid_from__lte", "valid_to__gte"], expression_connector="AND")
    ] = None
    valid_to_from: Annotated[Day, FilterLookup("valid_to__gte")] = None
    valid_to_to: Annotated[Day, FilterLookup("valid_to__lte")] = None


# Publication ---------------------------------------------------------------------------------

CONTACT_RELATIONS = ["classification", "customer_class", "account_manager"]

publish_model(
    router,
    "contacts",
    model=Contact,
    schema=ContactOut,
    filters=ContactFilter,
    select_related=CONTACT_RELATIONS,
)
publish_model(
    router,
    "leads",
    model=Lead,
    schema=LeadOut,
    filters=LeadFilter,
    select_related=["owner", "contact"],
)
publish_model(
    router,
    "opportunities",
    model=Opportunity,
    schema=OpportunityOut,
    filters=OpportunityFilter,
    select_related=["contact", "owner"],
)
publish_model(
    router,
    "subscriptions",
    model=Subscription,
    schema=SubscriptionOut,
    filters=SubscriptionFilter,
    select_related=["contact", "subscription_type"],
)
publish_model(
    router,
    "invoices",
    model=Invoice,
    schema=InvoiceOut,
    filters=InvoiceFilter,
    select_related=["contact", "subscription"],
)
publish_model(
    router,
    "customer-events",
    model=CustomerEvent,
    schema=CustomerEventOut,
    filters=CustomerEventFilter,
    select_related=["contact", "product", "referred_contact"],
)
publish_model(
    router,
    "products",
    model=Product,
    schema=ProductOut,
    filters=ProductFilter,
    select_related=["family"],
)
publish_model(
    router,
    "devices",
    model=Device,
    schema=DeviceOut,
    filters=DeviceFilter,
    select_related=["product", "warehouse", "contact"],
)
publish_model(
    router,
    "vouchers",
    model=Voucher,
    schema=VoucherOut,
    filters=VoucherFilter,
    select_related=["contact"],
)
publish_model(
    router,
    "payment-gateway-requests",
    model=PaymentGatewayRequest,
    schema=PaymentGatewayRequestOut,
    filters=PaymentGatewayRequestFilter,
    select_related=["contact", "invoice"],
)
