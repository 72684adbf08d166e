"""Raw CRM records in the Django admin: every model listed, filtered and searchable."""

from __future__ import annotations

from django.contrib import admin

from nightshift.core.admin import AuditedAdmin
from nightshift.crm import models as m


def register(model, *, display, filters=(), search=(), raw_id=(), date=None):
    """One line per model instead of a class each: the admin here is for raw records only."""
    attrs = {
        "list_display": list(display),
        "list_filter": list(filters),
        "search_fields": list(search),
        "raw_id_fields": list(raw_id),
    }
    if date:
        attrs["date_hierarchy"] = date
    admin.site.register(model, type(f"{model.__name__}Admin", (AuditedAdmin,), attrs))


register(m.ContactClassification, display=["name"], search=["name"])
register(m.CustomerClass, display=["code", "name", "rank"], search=["code", "name"])
register(
    m.Contact,
    display=[
        "code",
        "first_name",
        "last_name",
        "company_name",
        "email",
        "status",
        "customer_class",
        "account_manager",
    ],
    filters=["status", "kind", "customer_class", "classification", "country"],
    search=["code", "first_name", "last_name", "company_name", "email", "phone"],
    raw_id=["account_manager"],
)
register(m.Audience, display=["name", "description"], search=["name"])
register(
    m.ClassTransitionRule,
    display=["name", "from_class", "to_class", "trigger", "amount", "months", "is_active"],
    filters=["trigger", "is_active", "from_class", "to_class"],
    search=["name"],
)
register(
    m.ClassTransition,
    display=["contact", "from_class", "to_class", "rule", "transitioned_at"],
    filters=["to_class", "rule"],
    search=["contact__code"],
    raw_id=["contact"],
    date="transitioned_at",
)
register(
    m.Lead,
    display=[
        "code",
        "first_name",
        "last_name",
        "email",
        "state",
        "nurture_step",
        "next_email_date",
        "owner",
    ],
    filters=["state", "source"],
    search=["code", "first_name", "last_name", "company_name", "email"],
    raw_id=["contact", "owner"],
)
register(
    m.Opportunity,
    display=["code", "name", "contact", "stage", "amount", "expected_close_date", "owner"],
    filters=["stage"],
    search=["code", "name", "contact__code"],
    raw_id=["contact", "owner", "parc_agreement"],
)
for job_model in (m.Task, m.Dispatch):
    register(
        job_model,
        display=["subject", "state", "due_at", "owner", "manager", "team"],
        filters=["state", "team"],
        search=["subject", "contact__code"],
        raw_id=["contact", "owner", "manager", "parc_agreement"],
        date="due_at",
    )
register(
    m.Event,
    display=["subject", "contact", "starts_at", "ends_at", "owner"],
    search=["subject", "contact__code"],
    raw_id=["contact", "owner"],
    date="starts_at",
)
register(
    m.Action,
    display=["kind", "contact", "owner", "performed_at", "reminder_at"],
    filters=["kind"],
    search=["contact__code", "description"],
    raw_id=["contact", "owner"],
)
register(
    m.ParcAgreement,
    display=["code", "contact", "visiting_team", "account_manager", "next_visit_date", "is_active"],
    filters=["is_active", "visiting_team"],
    search=["code", "contact__code"],
    raw_id=["contact", "account_manager"],
)
register(m.ProductFamily, display=["code", "name"], search=["code", "name"])
register(
    m.Product,
    display=["code", "name", "family", "unit_price", "is_service", "is_traceable", "is_active"],
    filters=["family", "is_service", "is_traceable", "is_active"],
    search=["code", "name"],
)
register(m.Warehouse, display=["code", "name", "address"], search=["code", "name"])
register(
    m.Device,
    display=["serial_number", "product", "state", "warehouse", "contact", "installed_on"],
    filters=["state", "warehouse", "product"],
    search=["serial_number", "contact__code"],
    raw_id=["contact", "product"],
)
register(
    m.RewardScheme,
    display=["code", "name", "is_closed_loop", "is_active"],
    filters=["is_closed_loop", "is_active"],
    search=["code", "name"],
)
register(
    m.RewardSchemeCode,
    display=["code", "scheme", "used_at"],
    filters=["scheme"],
    search=["code"],
)
register(
    m.RewardParticipant,
    display=["contact", "scheme", "joined_on", "points_balance", "is_active"],
    filters=["scheme", "is_active"],
    search=["contact__code"],
    raw_id=["contact", "sign_up_code"],
)
register(
    m.Voucher,
    display=["code", "state", "value", "currency", "valid_from", "valid_to", "contact"],
    filters=["state", "currency"],
    search=["code", "contact__code"],
    raw_id=["contact"],
)
register(
    m.CustomerEvent,
    display=["kind", "reference", "contact", "occurred_at", "amount", "created_at"],
    filters=["kind"],
    search=["reference", "contact__code", "invoice_code"],
    raw_id=["contact", "product", "related_event", "referred_contact"],
    date="occurred_at",
)
register(
    m.AwardedEvent,
    display=["customer_event", "participant", "points", "awarded_at"],
    search=["customer_event__reference"],
    raw_id=["customer_event", "participant"],
)
register(
    m.SpendRewardTransaction,
    display=["customer_event", "participant", "points", "spent_at"],
    search=["customer_event__reference"],
    raw_id=["customer_event", "participant"],
)
register(
    m.ProvisioningRequest,
    display=["reference", "action", "state", "device", "subscription", "requested_at"],
    filters=["state", "action"],
    search=["reference"],
    raw_id=["device", "subscription"],
)
register(
    m.ProvisioningRequestParameter,
    display=["request", "name", "value"],
    search=["request__reference", "name"],
    raw_id=["request"],
)
register(m.SubscriptionType, display=["code", "name"], search=["code", "name"])
register(m.PricePlan, display=["code", "name", "monthly_fee"], search=["code", "name"])
register(m.BillingTermScheme, display=["code", "name"], search=["code", "name"])
register(m.BindingPeriod, display=["code", "name", "months"], search=["code", "name"])
register(
    m.Subscription,
    display=["number", "contact", "subscription_type", "state", "short_term_end_date"],
    filters=["state", "subscription_type"],
    search=["number", "contact__code"],
    raw_id=["contact"],
)
register(
    m.BillingTerm,
    display=[
        "subscription",
        "price_plan",
        "scheme",
        "billing_frequency",
        "binding_state",
        "binding_period",
        "is_effective",
    ],
    filters=["is_effective", "billing_frequency", "binding_state", "price_plan", "scheme"],
    search=["subscription__number"],
    raw_id=["subscription"],
)
register(
    m.SubscriptionActionType,
    display=["code", "name", "behaviour_code", "is_custom"],
    filters=["behaviour_code", "is_custom"],
    search=["code", "name"],
)
register(
    m.SubscriptionSubActionType,
    display=["code", "name", "action_type"],
    filters=["action_type"],
    search=["code", "name"],
)
register(
    m.SubscriptionAction,
    display=[
        "subscription",
        "behaviour_code",
        "action_type",
        "sub_action_type",
        "performed_on",
        "process_run_number",
    ],
    filters=["behaviour_code", "action_type"],
    search=["subscription__number"],
    raw_id=["subscription"],
    date="performed_on",
)
register(
    m.Invoice,
    display=[
        "code",
        "contact",
        "state",
        "issued_on",
        "payment_terms_days",
        "amount",
        "penalty_amount",
        "balance",
    ],
    filters=["state", "currency"],
    search=["code", "contact__code"],
    raw_id=["contact", "subscription"],
    date="issued_on",
)
register(
    m.Payment,
    display=["invoice", "amount", "paid_at", "method", "reference"],
    filters=["method"],
    search=["invoice__code", "reference"],
    raw_id=["invoice"],
)
register(
    m.InvoicePenalty,
    display=["invoice", "charged_on", "days_overdue", "rule", "rate", "amount"],
    filters=["rule"],
    search=["invoice__code"],
    raw_id=["invoice"],
)
register(
    m.PaymentGatewayRequest,
    display=["reference", "gateway", "contact", "amount", "currency", "state", "requested_at"],
    filters=["state", "gateway"],
    search=["reference", "contact__code"],
    raw_id=["contact", "invoice"],
)
register(
    m.RatedBillingItem,
    display=["subscription", "product", "period_from", "period_to", "amount", "rated_at"],
    search=["subscription__number"],
    raw_id=["subscription", "product", "invoice"],
)
register(
    m.AppliedAdditiveDiscount,
    display=["rated_billing_item", "discount_code", "amount"],
    search=["discount_code"],
    raw_id=["rated_billing_item"],
)
register(
    m.Notification,
    display=["title", "user", "kind", "state", "deadline", "created_at"],
    filters=["kind", "state"],
    search=["title", "user__username", "subject_key"],
    raw_id=["user", "released_by"],
)
