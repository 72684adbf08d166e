"""The archivable entities of the manual: five kinds of customer event, provisioning requests,
rated billing items and process run logs, each with the records archived with it."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from nightshift.archiving.registry import Child, Entity, Referrer, register_entity
from nightshift.crm.choices import CustomerEventKind

EVENT_CHILDREN = (
    Child("crm.AwardedEvent", "customer_event"),
    Child("crm.SpendRewardTransaction", "customer_event"),
)
# A spend request or statement that stays may point at an archived event of another kind.
EVENT_REFERRERS = (Referrer("crm.CustomerEvent", "related_event"),)

for key, kind, label in (
    ("purchase_events", CustomerEventKind.PURCHASE, _("Purchase customer events")),
    ("spend_request_events", CustomerEventKind.SPEND_REQUEST, _("Spend request customer events")),
    ("referral_events", CustomerEventKind.REFERRAL, _("Referral customer events")),
    ("achievement_events", CustomerEventKind.ACHIEVEMENT, _("Achievement customer events")),
    (
        "financial_statement_events",
        CustomerEventKind.FINANCIAL_STATEMENT,
        _("Financial statement customer events"),
    ),
):
    register_entity(
        Entity(
            key=key,
            label=label,
            model="crm.CustomerEvent",
            date_field="created_at",
            children=EVENT_CHILDREN,
            referrers=EVENT_REFERRERS,
            narrowing={"kind": str(kind)},
        )
    )

register_entity(
    Entity(
        key="provisioning_requests",
        label=_("Provisioning requests"),
        model="crm.ProvisioningRequest",
        date_field="created_at",
        children=(Child("crm.ProvisioningRequestParameter", "request"),),
    )
)
register_entity(
    Entity(
        key="rated_billing_items",
        label=_("Rated billing items"),
        model="crm.RatedBillingItem",
        date_field="created_at",
        children=(Child("crm.AppliedAdditiveDiscount", "rated_billing_item"),),
    )
)
# Only runs that ended: a run in progress (this one included) is never archived.
register_entity(
    Entity(
        key="process_run_logs",
        label=_("Process run logs"),
        model="runs.ProcessRun",
        date_field="created_at",
        children=(Child("runs.RunItem", "run"), Child("runs.LogEntry", "run")),
        narrowing={
            "state__in": ["completed", "completed_with_errors", "failed", "stopped"],
        },
    )
)
