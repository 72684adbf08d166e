"""Take subscriptions out of short term deactivation (CRM.COM manual of the same name).

A subscription in short term deactivation becomes effective again at its end date. This
process runs on (or shortly after) that date and deactivates, at the date of execution, those
whose effective billing term's activation conditions are not met — typically an unsettled
balance — so that they never become effective while owing money.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any, Literal

from django.db.models import Exists, FilteredRelation, OuterRef, Q, QuerySet, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from pydantic import BaseModel, ConfigDict, Field

from nightshift.core.bulk import insert_rows
from nightshift.crm.choices import (
    BehaviourCode,
    BillingFrequency,
    BindingState,
    InvoiceState,
    SubscriptionState,
)
from nightshift.crm.models import (
    BillingTerm,
    BillingTermScheme,
    BindingPeriod,
    Invoice,
    PricePlan,
    Subscription,
    SubscriptionAction,
    SubscriptionActionType,
    SubscriptionSubActionType,
    SubscriptionType,
)
from nightshift.processes.base import Outcome, ParameterError, Process
from nightshift.processes.registry import register

__all__ = ["LeaveShortTermDeactivation"]

# A reference is a code (stable across databases, what operators type) or a primary key (what
# pickers in the UI hold). Both are normalised to codes when the parameters are validated.
Reference = int | str

ANY_BINDING = "any"
# Far beyond any sensible look-back, and keeps "execution date - X days" a valid date.
MAX_DAYS_AGO = 36_500
CENTS = Decimal("0.01")


class LeaveShortTermDeactivationParameters(BaseModel):
    """Criteria and input settings of a "take subscriptions out of short term deactivation"
    run definition. An empty selection means "all"."""

    model_config = ConfigDict(
        extra="forbid", title="Take subscriptions out of short term deactivation"
    )

    # -- criteria ---------------------------------------------------------------------------
    subscription_types: list[Reference] = Field(
        title=gettext_noop("Subscription types"),
        json_schema_extra={"group": "criteria"},
        default_factory=list,
        description=gettext_noop(
            "Only subscriptions of these types (codes or ids); empty for all."
        ),
    )
    price_plans: list[Reference] = Field(
        title=gettext_noop("Price plans"),
        json_schema_extra={"group": "criteria"},
        default_factory=list,
        description=gettext_noop(
            "Only subscriptions whose effective billing term has one of these price "
            "plans (codes or ids); empty for all."
        ),
    )
    billing_term_schemes: list[Reference] = Field(
        title=gettext_noop("Billing term schemes"),
        json_schema_extra={"group": "criteria"},
        default_factory=list,
        description=gettext_noop(
            "Only effective billing terms of these schemes (codes or ids); empty for all."
        ),
    )
    billing_frequencies: list[BillingFrequency] = Field(
        title=gettext_noop("Billing frequencies"),
        json_schema_extra={"group": "criteria"},
        default_factory=list,
        description=gettext_noop(
            "Only effective billing terms billed at these frequencies; empty for all."
        ),
    )
    binding_state: Literal["any", "in_binding", "out_of_binding"] = Field(
        title=gettext_noop("Binding state"),
        json_schema_extra={"group": "criteria"},
        default=ANY_BINDING,
        description=gettext_noop("Only effective billing terms in this binding state."),
    )
    binding_periods: list[Reference] = Field(
        title=gettext_noop("Binding periods"),
        json_schema_extra={"group": "criteria"},
        default_factory=list,
        description=gettext_noop(
            "Only effective billing terms in binding for one of these periods (codes or "
            "ids); allowed only when the binding state is in_binding. Empty for all."
        ),
    )
    short_term_end_days_ago: int | None = Field(
        title=gettext_noop("Short term deactivation end X days ago"),
        json_schema_extra={"group": "criteria"},
        default=None,
        ge=0,
        le=MAX_DAYS_AGO,
        description=gettext_noop(
            "Also retrieve subscriptions whose short term deactivation ended up to this "
            "many days before the date of execution. Unset: only those ending on that date."
        ),
    )

    # -- input settings ---------------------------------------------------------------------
    subscription_action_type: str | None = Field(
        title=gettext_noop("Subscription action type"),
        json_schema_extra={"group": "input_settings"},
        default=None,
        description=gettext_noop(
            "Code of the action type (behaviour: deactivate) logged for each "
            "deactivation; mandatory when custom deactivate action types exist."
        ),
    )
    subscription_sub_action_type: str | None = Field(
        title=gettext_noop("Subscription sub-action type"),
        json_schema_extra={"group": "input_settings"},
        default=None,
        description=gettext_noop(
            "Code of a sub-action type of that action type; mandatory when custom "
            "deactivate action types exist."
        ),
    )


# criterion field -> (reference model, operator-facing plural for messages)
_REFERENCES: dict[str, tuple[type, Any]] = {
    "subscription_types": (SubscriptionType, gettext_lazy("subscription types")),
    "price_plans": (PricePlan, gettext_lazy("price plans")),
    "billing_term_schemes": (BillingTermScheme, gettext_lazy("billing term schemes")),
    "binding_periods": (BindingPeriod, gettext_lazy("binding periods")),
}


def _normalise_references(field: str, refs: list[Reference]) -> tuple[list[str], str | None]:
    """The codes ``refs`` name, in the order given without repeats, and an error message
    listing those that name nothing."""
    if not refs:
        return [], None
    model, plural = _REFERENCES[field]
    ids = {ref for ref in refs if isinstance(ref, int)}
    codes = {ref for ref in refs if isinstance(ref, str)}
    found = model.objects.filter(Q(pk__in=ids) | Q(code__in=codes)).values_list("pk", "code")
    code_of = dict(found)
    known_codes = set(code_of.values())
    normalised: list[str] = []
    unknown: list[str] = []
    for ref in refs:
        code = code_of.get(ref) if isinstance(ref, int) else (ref if ref in known_codes else None)
        if code is None:
            unknown.append(str(ref))
        elif code not in normalised:
            normalised.append(code)
    if unknown:
        return normalised, _("Unknown %(what)s: %(refs)s.") % {
            "what": plural,
            "refs": ", ".join(unknown),
        }
    return normalised, None


@register
class LeaveShortTermDeactivation(Process):
    """Take subscriptions out of short term deactivation, deactivating those that may not
    become effective again.

    Candidates are subscriptions in short term not effective state whose short term
    deactivation ends on the date of execution — or, with "short term deactivation end X days
    ago", on any day from X days before it up to it, so that a run that was late still catches
    those that slipped through — whose period was not ended early by an "end short term
    deactivation" action, and whose effective billing term matches the criteria.

    Each candidate whose effective billing term's activation conditions are not met (see
    ``BillingTerm.activation_conditions_met``: the contact's unsettled balance) is deactivated
    at the date of execution, not at the date it left short term deactivation, and a
    "deactivate" subscription action is logged with the input settings' action types. The
    others are left alone: they become effective at their end date as usual.
    """

    key = "subscriptions.leave_short_term_deactivation"
    name = gettext_lazy("Take subscriptions out of short term deactivation")
    description = gettext_lazy(
        "Deactivates, at the date of execution, subscriptions leaving short term deactivation "
        "whose billing term's activation conditions are not met (e.g. an unsettled balance)."
    )
    Parameters = LeaveShortTermDeactivationParameters
    model = Subscription

    def __init__(self) -> None:
        # (action type id, sub-action type id) per input settings, resolved once per run.
        self._action_types: dict[tuple[str | None, str | None], tuple[int | None, int | None]]
        self._action_types = {}

    # -- parameters -------------------------------------------------------------------------

    @classmethod
    def check(cls, params: LeaveShortTermDeactivationParameters) -> None:
        """Reference criteria must name existing records (normalised to codes); binding periods
        only with binding state "in binding"; the input settings name a deactivate action type
        and one of its sub-action types, and are mandatory once custom deactivate action types
        exist (the manual's create and edit validations)."""
        errors: dict[str, str] = {}
        for field in _REFERENCES:
            codes, error = _normalise_references(field, getattr(params, field))
            setattr(params, field, codes)
            if error:
                errors[field] = error
        if params.binding_periods and params.binding_state != BindingState.IN_BINDING:
            errors["binding_periods"] = _(
                "Binding periods can be selected only when the binding state is in binding."
            )
        errors.update(cls._check_input_settings(params))
        if errors:
            raise ParameterError(errors)

    @staticmethod
    def _check_input_settings(params: LeaveShortTermDeactivationParameters) -> dict[str, str]:
        errors: dict[str, str] = {}
        action_code = params.subscription_action_type
        sub_action_code = params.subscription_sub_action_type
        if SubscriptionActionType.objects.filter(
            behaviour_code=BehaviourCode.DEACTIVATE, is_custom=True
        ).exists():
            mandatory = _(
                "Required: custom subscription action types with behaviour "
                "“Deactivate subscription” exist."
            )
            if not action_code:
                errors["subscription_action_type"] = mandatory
            if not sub_action_code:
                errors["subscription_sub_action_type"] = mandatory
        if sub_action_code and not action_code:
            errors.setdefault(
                "subscription_action_type",
                _("Select the action type the sub-action type belongs to."),
            )
        if not action_code:
            return errors
        action_type = SubscriptionActionType.objects.filter(code=action_code).first()
        if action_type is None:
            errors["subscription_action_type"] = _(
                "Unknown subscription action type: %(code)s."
            ) % {"code": action_code}
            return errors
        if action_type.behaviour_code != BehaviourCode.DEACTIVATE:
            errors["subscription_action_type"] = _(
                "The action type %(code)s performs “%(behaviour)s”, not “%(deactivate)s”."
            ) % {
                "code": action_code,
                "behaviour": action_type.get_behaviour_code_display(),
                "deactivate": BehaviourCode.DEACTIVATE.label,
            }
        if (
            sub_action_code
            and not action_type.sub_action_types.filter(code=sub_action_code).exists()
        ):
            errors["subscription_sub_action_type"] = _(
                "Unknown sub-action type %(sub)s for the action type %(code)s."
            ) % {"sub": sub_action_code, "code": action_code}
        return errors

    # -- selection --------------------------------------------------------------------------

    def candidates(self, params: dict[str, Any], *, as_of: datetime.date) -> QuerySet:
        """Subscriptions leaving short term deactivation on ``as_of`` (or within the last
        ``short_term_end_days_ago`` days), not ended early by an action, matching the criteria
        on their effective billing term. One query; ordered by primary key."""
        days_ago = params.get("short_term_end_days_ago")
        earliest = as_of if days_ago is None else as_of - datetime.timedelta(days=days_ago)
        # An "end short term deactivation" action performed since the period started ended it
        # early: the subscription is effective already and is not this process's business.
        ended_early = SubscriptionAction.objects.filter(
            subscription=OuterRef("pk"),
            behaviour_code=BehaviourCode.END_SHORT_TERM_DEACTIVATION,
            performed_on__gte=OuterRef("short_term_start_date"),
        )
        queryset = Subscription.objects.filter(
            state=SubscriptionState.SHORT_TERM_NOT_EFFECTIVE,
            short_term_end_date__gte=earliest,
            short_term_end_date__lte=as_of,
        ).filter(~Exists(ended_early))
        if params.get("subscription_types"):
            queryset = queryset.filter(
                subscription_type__in=SubscriptionType.objects.filter(
                    code__in=params["subscription_types"]
                ).values("pk")
            )
        term = self._term_criteria(params)
        if term is not None:
            # EXISTS rather than a join: criteria on the one effective term must all hold on
            # that same term, and a subquery cannot multiply candidate rows.
            queryset = queryset.filter(
                Exists(
                    BillingTerm.objects.filter(term, subscription=OuterRef("pk"), is_effective=True)
                )
            )
        return queryset.order_by("pk")

    @staticmethod
    def _term_criteria(params: dict[str, Any]) -> Q | None:
        """The criteria on the effective billing term, or ``None`` when there are none (then
        subscriptions without an effective term stay candidates and are reported as errors)."""
        conditions = Q()
        if params.get("price_plans"):
            conditions &= Q(
                price_plan__in=PricePlan.objects.filter(code__in=params["price_plans"]).values("pk")
            )
        if params.get("billing_term_schemes"):
            conditions &= Q(
                scheme__in=BillingTermScheme.objects.filter(
                    code__in=params["billing_term_schemes"]
                ).values("pk")
            )
        if params.get("billing_frequencies"):
            conditions &= Q(billing_frequency__in=params["billing_frequencies"])
        binding_state = params.get("binding_state") or ANY_BINDING
        if binding_state != ANY_BINDING:
            conditions &= Q(binding_state=binding_state)
        if params.get("binding_periods") and binding_state == BindingState.IN_BINDING:
            conditions &= Q(
                binding_period__in=BindingPeriod.objects.filter(
                    code__in=params["binding_periods"]
                ).values("pk")
            )
        return conditions or None

    # -- processing -------------------------------------------------------------------------

    def process_batch(
        self,
        params: dict[str, Any],
        ids: list[int],
        *,
        as_of: datetime.date,
        run_number: int | None,
    ) -> list[Outcome]:
        """Deactivate, at ``as_of``, the subscriptions of ``ids`` whose activation conditions
        are not met; one outcome per id.

        1. Re-select the ids that are still candidates, locking them (another worker that took
           the run over waits, then sees them no longer eligible) and reading each one's
           effective billing term in the same query.
        2. Sum the unsettled balance of their contacts in one aggregate query.
        3. Deactivate with one UPDATE and log the actions with one INSERT.
        A record no longer a candidate — already processed, or changed since selection — gets
        an error outcome and is left untouched, so repeating a batch processes nothing twice.
        """
        if not ids:
            return []
        rows = list(
            self.candidates(params, as_of=as_of)
            .filter(pk__in_array=ids)
            .annotate(
                effective_term=FilteredRelation(
                    "billing_terms",
                    # The batch's id range on the term side too: PostgreSQL then reads the
                    # batch's terms by index, where it chose to scan every term (20 ms a batch
                    # with 100,000 terms). A range, not the ids: two parameters, not a thousand.
                    condition=Q(
                        billing_terms__is_effective=True,
                        billing_terms__subscription_id__gte=min(ids),
                        billing_terms__subscription_id__lte=max(ids),
                    ),
                )
            )
            .select_for_update(of=("self",))
            .values(
                "pk",
                "contact_id",
                "effective_term__id",
                "effective_term__requires_settled_balance",
                "effective_term__max_unsettled_balance",
            )
        )
        balances = dict(
            Invoice.objects.filter(
                state=InvoiceState.POSTED,
                contact_id__in_array={row["contact_id"] for row in rows},
            )
            .values("contact_id")
            .annotate(total=Sum("balance"))
            .values_list("contact_id", "total")
            .order_by()
        )

        outcomes: dict[int, Outcome] = {}
        to_deactivate: dict[int, Decimal] = {}
        # Translated once per batch, not once per record.
        no_term = _(
            "The subscription has no effective billing term, so its activation conditions "
            "cannot be checked."
        )
        met = _("activation conditions met; no deactivation")
        # Unsaved terms carrying the two columns, one per distinct pair (building a model
        # instance per record cost more than the batch's queries): the rule stays on the model.
        terms: dict[tuple[bool, Decimal], BillingTerm] = {}
        for row in rows:
            pk = row["pk"]
            if row["effective_term__id"] is None:
                outcomes[pk] = Outcome(pk, ok=False, message=no_term)
                continue
            # Quantized: SQLite sums decimals as floats (40.5, 124.78999…), and the comparison
            # with the allowed maximum must be made in cents.
            unsettled = Decimal(balances.get(row["contact_id"]) or 0).quantize(CENTS)
            conditions = (
                row["effective_term__requires_settled_balance"],
                row["effective_term__max_unsettled_balance"],
            )
            term = terms.get(conditions)
            if term is None:
                term = terms[conditions] = BillingTerm(
                    requires_settled_balance=conditions[0], max_unsettled_balance=conditions[1]
                )
            if term.activation_conditions_met(unsettled):
                outcomes[pk] = Outcome(pk, ok=True, message=met)
            else:
                to_deactivate[pk] = unsettled

        if to_deactivate:
            self._deactivate(params, to_deactivate, as_of=as_of, run_number=run_number)
            deactivated = _("deactivated on %(date)s: unsettled balance %(balance)s")
            for pk, unsettled in to_deactivate.items():
                outcomes[pk] = Outcome(
                    pk,
                    ok=True,
                    message=deactivated % {"date": as_of.isoformat(), "balance": unsettled},
                )

        missing = [pk for pk in ids if pk not in outcomes]
        if missing:
            outcomes.update(self._not_candidates(missing))
        return [outcomes[pk] for pk in ids]

    def _deactivate(
        self,
        params: dict[str, Any],
        unsettled_by_id: dict[int, Decimal],
        *,
        as_of: datetime.date,
        run_number: int | None,
    ) -> None:
        action_type_id, sub_action_type_id = self._resolve_action_types(params)
        Subscription.objects.filter(
            pk__in_array=list(unsettled_by_id), state=SubscriptionState.SHORT_TERM_NOT_EFFECTIVE
        ).update(state=SubscriptionState.NOT_EFFECTIVE, deactivated_on=as_of)
        reason = _(
            "Activation conditions not met when leaving short term deactivation: "
            "unsettled balance %(balance)s."
        )
        insert_rows(
            SubscriptionAction,
            (
                "subscription",
                "behaviour_code",
                "action_type",
                "sub_action_type",
                "performed_on",
                "process_run_number",
                "reason",
            ),
            (
                (
                    pk,
                    BehaviourCode.DEACTIVATE.value,
                    action_type_id,
                    sub_action_type_id,
                    as_of,
                    run_number,
                    (reason % {"balance": unsettled})[:200],
                )
                for pk, unsettled in unsettled_by_id.items()
            ),
        )

    def _resolve_action_types(self, params: dict[str, Any]) -> tuple[int | None, int | None]:
        """The ids of the input settings' action and sub-action types (validated codes)."""
        codes = (params.get("subscription_action_type"), params.get("subscription_sub_action_type"))
        if codes not in self._action_types:
            action_code, sub_action_code = codes
            action_type_id = sub_action_type_id = None
            if action_code:
                action_type_id = (
                    SubscriptionActionType.objects.filter(code=action_code)
                    .values_list("pk", flat=True)
                    .first()
                )
            if action_type_id and sub_action_code:
                sub_action_type_id = (
                    SubscriptionSubActionType.objects.filter(
                        action_type_id=action_type_id, code=sub_action_code
                    )
                    .values_list("pk", flat=True)
                    .first()
                )
            self._action_types[codes] = (action_type_id, sub_action_type_id)
        return self._action_types[codes]

    @staticmethod
    def _not_candidates(ids: list[int]) -> dict[int, Outcome]:
        """Error outcomes saying why each of ``ids`` is no longer a candidate (one query)."""
        found = {
            row["pk"]: row
            for row in Subscription.objects.filter(pk__in_array=ids).values(
                "pk", "state", "short_term_end_date"
            )
        }
        outcomes: dict[int, Outcome] = {}
        for pk in ids:
            row = found.get(pk)
            if row is None:
                message = _("The subscription no longer exists.")
            elif row["state"] != SubscriptionState.SHORT_TERM_NOT_EFFECTIVE:
                message = _(
                    "The subscription is no longer in short term deactivation (state: %(state)s); "
                    "it was not processed again."
                ) % {"state": SubscriptionState(row["state"]).label}
            else:
                message = _(
                    "The subscription no longer matches the run's criteria (short term "
                    "deactivation ends %(date)s, or was ended by an action); it was not processed."
                ) % {"date": row["short_term_end_date"].isoformat()}
            outcomes[pk] = Outcome(pk, ok=False, message=message)
        return outcomes
