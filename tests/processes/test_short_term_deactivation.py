"""Take subscriptions out of short term deactivation: parameters, candidate selection and
batch processing, as the CRM.COM manual describes them."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightshift.crm.choices import BehaviourCode, BindingState, InvoiceState, SubscriptionState
from nightshift.crm.models import (
    Subscription,
    SubscriptionAction,
    SubscriptionActionType,
    SubscriptionSubActionType,
)
from nightshift.processes.base import ParameterError
from nightshift.processes.builtin.short_term_deactivation import LeaveShortTermDeactivation
from nightshift.processes.registry import get_process

from .conftest import TODAY

DAY = datetime.timedelta(days=1)


def selected(params: dict, as_of: datetime.date) -> set[str]:
    """The numbers of the subscriptions a run on ``as_of`` would process."""
    normalised = LeaveShortTermDeactivation.validate_parameters(params)
    queryset = LeaveShortTermDeactivation().candidates(normalised, as_of=as_of)
    return set(queryset.values_list("number", flat=True))


def run_batch(ids: list[int], *, params: dict | None = None, as_of=TODAY, run_number=7):
    normalised = LeaveShortTermDeactivation.validate_parameters(params or {})
    return LeaveShortTermDeactivation().process_batch(
        normalised, ids, as_of=as_of, run_number=run_number
    )


# -- selection: the execution date and "X days ago" ----------------------------------------


def test_without_days_ago_only_subscriptions_ending_today_are_candidates(
    make_subscription, frozen_today
):
    today = make_subscription(end=frozen_today)
    make_subscription(end=frozen_today - DAY)
    make_subscription(end=frozen_today + DAY)
    assert selected({}, frozen_today) == {today.number}


def test_days_ago_window_includes_both_ends_and_nothing_beyond(make_subscription, frozen_today):
    oldest = make_subscription(end=frozen_today - 3 * DAY)
    today = make_subscription(end=frozen_today)
    make_subscription(end=frozen_today - 4 * DAY)  # a day before the window
    make_subscription(end=frozen_today + DAY)  # a day after the execution date
    assert selected({"short_term_end_days_ago": 3}, frozen_today) == {oldest.number, today.number}


def test_zero_days_ago_means_ending_today(make_subscription, frozen_today):
    today = make_subscription(end=frozen_today)
    make_subscription(end=frozen_today - DAY)
    assert selected({"short_term_end_days_ago": 0}, frozen_today) == {today.number}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    end_offset=st.integers(min_value=-20, max_value=5),
    days_ago=st.none() | st.integers(min_value=0, max_value=15),
)
def test_selection_matches_the_window_for_any_end_date(make_subscription, end_offset, days_ago):
    Subscription.objects.all().delete()
    subscription = make_subscription(end=TODAY + datetime.timedelta(days=end_offset))
    # Unset: only those ending on the execution date; else the inclusive window of X days.
    expected = end_offset == 0 if days_ago is None else -days_ago <= end_offset <= 0
    params = {} if days_ago is None else {"short_term_end_days_ago": days_ago}
    assert (subscription.number in selected(params, TODAY)) is expected


def test_only_short_term_not_effective_subscriptions_are_candidates(
    make_subscription, frozen_today
):
    make_subscription(state=SubscriptionState.EFFECTIVE)
    make_subscription(state=SubscriptionState.NOT_EFFECTIVE)
    candidate = make_subscription()
    assert selected({}, frozen_today) == {candidate.number}


def test_period_ended_by_an_end_short_term_action_is_excluded(
    make_subscription, end_short_term, frozen_today
):
    ended = make_subscription(start=frozen_today - 20 * DAY)
    end_short_term(ended, frozen_today - 5 * DAY)
    kept = make_subscription(start=frozen_today - 20 * DAY)
    # An action that ended an earlier period does not end the current one.
    end_short_term(kept, frozen_today - 21 * DAY)
    assert selected({}, frozen_today) == {kept.number}


def test_end_action_on_the_start_date_ends_the_period(
    make_subscription, end_short_term, frozen_today
):
    ended = make_subscription(start=frozen_today - 20 * DAY)
    end_short_term(ended, frozen_today - 20 * DAY)
    assert selected({}, frozen_today) == set()


def test_candidates_are_ordered_by_primary_key(make_subscription, frozen_today):
    made = [make_subscription() for _ in range(5)]
    queryset = LeaveShortTermDeactivation().candidates({}, as_of=frozen_today)
    assert list(queryset.values_list("pk", flat=True)) == sorted(s.pk for s in made)


# -- selection: criteria on the subscription and its effective billing term --------------


def test_subscription_types_filter_by_code_or_id(make_subscription, refs, frozen_today):
    tv = make_subscription(subscription_type="TV")
    make_subscription(subscription_type="NET")
    assert selected({"subscription_types": ["TV"]}, frozen_today) == {tv.number}
    assert selected({"subscription_types": [refs["TV"].pk]}, frozen_today) == {tv.number}


def test_price_plans_filter_on_the_effective_term(make_subscription, frozen_today):
    premium = make_subscription(term={"price_plan": "PREMIUM"})
    make_subscription(term={"price_plan": "BASIC"})
    assert selected({"price_plans": ["PREMIUM"]}, frozen_today) == {premium.number}


def test_billing_term_schemes_filter(make_subscription, frozen_today):
    prepaid = make_subscription(term={"scheme": "PREPAID"})
    make_subscription(term={"scheme": "POSTPAID"})
    assert selected({"billing_term_schemes": ["PREPAID"]}, frozen_today) == {prepaid.number}


def test_billing_frequencies_filter(make_subscription, frozen_today):
    quarterly = make_subscription(term={"billing_frequency": "quarterly"})
    make_subscription(term={"billing_frequency": "monthly"})
    assert selected({"billing_frequencies": ["quarterly"]}, frozen_today) == {quarterly.number}


def test_binding_state_filter(make_subscription, frozen_today):
    bound = make_subscription(
        term={"binding_state": BindingState.IN_BINDING, "binding_period": "12M"}
    )
    free = make_subscription()
    assert selected({"binding_state": "in_binding"}, frozen_today) == {bound.number}
    assert selected({"binding_state": "out_of_binding"}, frozen_today) == {free.number}
    assert selected({"binding_state": "any"}, frozen_today) == {bound.number, free.number}


def test_binding_periods_filter_in_binding(make_subscription, frozen_today):
    twelve = make_subscription(
        term={"binding_state": BindingState.IN_BINDING, "binding_period": "12M"}
    )
    make_subscription(term={"binding_state": BindingState.IN_BINDING, "binding_period": "24M"})
    params = {"binding_state": "in_binding", "binding_periods": ["12M"]}
    assert selected(params, frozen_today) == {twelve.number}


def test_criteria_look_only_at_the_effective_term(make_subscription, refs, frozen_today):
    from nightshift.crm.models import BillingTerm

    switched = make_subscription(term={"price_plan": "BASIC"})
    # A closed, earlier term on the premium plan must not make it match "PREMIUM".
    BillingTerm.objects.create(
        subscription=switched,
        price_plan=refs["PREMIUM"],
        scheme=refs["POSTPAID"],
        effective_from=TODAY - 800 * DAY,
        effective_to=TODAY - 401 * DAY,
        is_effective=False,
    )
    assert selected({"price_plans": ["PREMIUM"]}, frozen_today) == set()
    assert selected({"price_plans": ["BASIC"]}, frozen_today) == {switched.number}


def test_empty_criteria_select_all(make_subscription, frozen_today):
    made = {make_subscription(term={"price_plan": plan}).number for plan in ("BASIC", "PREMIUM")}
    params = {"price_plans": [], "billing_frequencies": [], "subscription_types": []}
    assert selected(params, frozen_today) == made


# -- parameters ------------------------------------------------------------------------------


def test_binding_periods_are_refused_unless_in_binding(refs):
    for state in ("any", "out_of_binding"):
        with pytest.raises(ParameterError) as caught:
            LeaveShortTermDeactivation.validate_parameters(
                {"binding_state": state, "binding_periods": ["12M"]}
            )
        assert set(caught.value.errors) == {"binding_periods"}
    accepted = LeaveShortTermDeactivation.validate_parameters(
        {"binding_state": "in_binding", "binding_periods": ["12M"]}
    )
    assert accepted["binding_periods"] == ["12M"]


def test_references_are_normalised_to_codes_and_unknown_ones_named(refs):
    params = LeaveShortTermDeactivation.validate_parameters(
        {"price_plans": [refs["PREMIUM"].pk, "BASIC", "PREMIUM"]}
    )
    assert params["price_plans"] == ["PREMIUM", "BASIC"]
    with pytest.raises(ParameterError) as caught:
        LeaveShortTermDeactivation.validate_parameters(
            {"subscription_types": ["TV", "RADIO", 99999]}
        )
    assert caught.value.errors["subscription_types"] == "Unknown subscription types: RADIO, 99999."


def test_negative_days_ago_and_unknown_fields_are_refused(db):
    with pytest.raises(ParameterError) as caught:
        LeaveShortTermDeactivation.validate_parameters(
            {"short_term_end_days_ago": -1, "price_plan": ["BASIC"]}
        )
    assert set(caught.value.errors) == {"short_term_end_days_ago", "price_plan"}


def test_input_settings_are_optional_without_custom_deactivate_actions(db):
    SubscriptionActionType.objects.create(
        code="DEACTIVATE", name="Deactivate", behaviour_code=BehaviourCode.DEACTIVATE
    )
    assert LeaveShortTermDeactivation.validate_parameters({})["subscription_action_type"] is None


def test_input_settings_are_mandatory_when_custom_deactivate_actions_exist(custom_deactivate):
    with pytest.raises(ParameterError) as caught:
        LeaveShortTermDeactivation.validate_parameters({})
    assert set(caught.value.errors) == {"subscription_action_type", "subscription_sub_action_type"}
    with pytest.raises(ParameterError) as caught:
        LeaveShortTermDeactivation.validate_parameters({"subscription_action_type": "DEACT-NONPAY"})
    assert set(caught.value.errors) == {"subscription_sub_action_type"}
    params = LeaveShortTermDeactivation.validate_parameters(
        {"subscription_action_type": "DEACT-NONPAY", "subscription_sub_action_type": "UNSETTLED"}
    )
    assert params["subscription_sub_action_type"] == "UNSETTLED"


def test_action_type_must_deactivate_and_exist(custom_deactivate):
    SubscriptionActionType.objects.create(
        code="ACTIVATE", name="Activate", behaviour_code=BehaviourCode.ACTIVATE
    )
    with pytest.raises(ParameterError) as caught:
        LeaveShortTermDeactivation.validate_parameters(
            {"subscription_action_type": "ACTIVATE", "subscription_sub_action_type": "UNSETTLED"}
        )
    assert "Activate subscription" in caught.value.errors["subscription_action_type"]
    with pytest.raises(ParameterError) as caught:
        LeaveShortTermDeactivation.validate_parameters(
            {"subscription_action_type": "NOPE", "subscription_sub_action_type": "UNSETTLED"}
        )
    assert caught.value.errors["subscription_action_type"] == (
        "Unknown subscription action type: NOPE."
    )


def test_sub_action_type_must_belong_to_the_action_type(custom_deactivate):
    other = SubscriptionActionType.objects.create(
        code="DEACT-FRAUD", name="Fraud", behaviour_code=BehaviourCode.DEACTIVATE, is_custom=True
    )
    SubscriptionSubActionType.objects.create(action_type=other, code="FRAUD", name="Fraud")
    with pytest.raises(ParameterError) as caught:
        LeaveShortTermDeactivation.validate_parameters(
            {"subscription_action_type": "DEACT-NONPAY", "subscription_sub_action_type": "FRAUD"}
        )
    assert set(caught.value.errors) == {"subscription_sub_action_type"}
    assert "FRAUD" in caught.value.errors["subscription_sub_action_type"]


# -- processing -----------------------------------------------------------------------------


@pytest.fixture
def unsettled_and_settled(make_subscription, make_contact, make_invoice):
    """One subscription whose contact owes 40.50, one whose contact owes nothing (a settled
    invoice and a cancelled one do not count)."""
    owing, paid = make_contact(), make_contact()
    make_invoice(owing, "25.25")
    make_invoice(owing, "15.25")
    make_invoice(paid, "0.00", state=InvoiceState.SETTLED)
    make_invoice(paid, "99.00", state=InvoiceState.CANCELLED)
    return make_subscription(contact=owing), make_subscription(contact=paid)


def test_deactivates_only_subscriptions_with_an_unsettled_balance(
    unsettled_and_settled, custom_deactivate, frozen_today
):
    owing, paid = unsettled_and_settled
    params = {
        "subscription_action_type": "DEACT-NONPAY",
        "subscription_sub_action_type": "UNSETTLED",
    }
    outcomes = run_batch([owing.pk, paid.pk], params=params, as_of=frozen_today, run_number=42)

    assert [(o.record_id, o.ok) for o in outcomes] == [(owing.pk, True), (paid.pk, True)]
    assert "40.50" in outcomes[0].message
    assert outcomes[1].message == "activation conditions met; no deactivation"
    owing.refresh_from_db()
    paid.refresh_from_db()
    assert (owing.state, owing.deactivated_on) == (SubscriptionState.NOT_EFFECTIVE, frozen_today)
    assert paid.state == SubscriptionState.SHORT_TERM_NOT_EFFECTIVE
    action = SubscriptionAction.objects.get()
    assert action.subscription_id == owing.pk
    assert action.behaviour_code == BehaviourCode.DEACTIVATE
    assert action.action_type == custom_deactivate.action_type
    assert action.sub_action_type == custom_deactivate
    assert action.performed_on == frozen_today
    assert action.process_run_number == 42
    assert "40.50" in action.reason


def test_deactivation_is_at_the_execution_date_not_the_end_date(
    make_subscription, make_contact, make_invoice
):
    contact = make_contact()
    make_invoice(contact, "10.00")
    late = make_subscription(contact=contact, end=TODAY - 3 * DAY)
    run_batch([late.pk], params={"short_term_end_days_ago": 5}, as_of=TODAY)
    late.refresh_from_db()
    assert late.deactivated_on == TODAY
    assert SubscriptionAction.objects.get().performed_on == TODAY


def test_balance_within_the_allowed_maximum_meets_the_conditions(
    make_subscription, make_contact, make_invoice
):
    tolerant_contact, lenient_contact = make_contact(), make_contact()
    make_invoice(tolerant_contact, "20.00")
    make_invoice(lenient_contact, "500.00")
    tolerant = make_subscription(
        contact=tolerant_contact, term={"max_unsettled_balance": Decimal("20.00")}
    )
    lenient = make_subscription(contact=lenient_contact, term={"requires_settled_balance": False})
    outcomes = run_batch([tolerant.pk, lenient.pk])
    assert all(o.ok and "no deactivation" in o.message for o in outcomes)
    assert not SubscriptionAction.objects.exists()


def test_without_input_settings_the_action_has_no_type(unsettled_and_settled):
    owing, _paid = unsettled_and_settled
    run_batch([owing.pk])
    action = SubscriptionAction.objects.get()
    assert (action.action_type_id, action.sub_action_type_id) == (None, None)


def test_subscription_without_effective_term_is_an_error(make_subscription):
    orphan = make_subscription(with_term=False)
    [outcome] = run_batch([orphan.pk])
    assert not outcome.ok
    assert "no effective billing term" in outcome.message
    orphan.refresh_from_db()
    assert orphan.state == SubscriptionState.SHORT_TERM_NOT_EFFECTIVE


def test_record_no_longer_eligible_is_an_error_and_untouched(
    make_subscription, make_contact, make_invoice, end_short_term
):
    contact = make_contact()
    make_invoice(contact, "10.00")
    reactivated = make_subscription(contact=contact, state=SubscriptionState.EFFECTIVE)
    ended = make_subscription(contact=contact)
    end_short_term(ended, TODAY - DAY)
    outcomes = run_batch([reactivated.pk, ended.pk, 987654])
    assert [o.ok for o in outcomes] == [False, False, False]
    assert "no longer in short term deactivation (state: Effective)" in outcomes[0].message
    assert "no longer matches the run's criteria" in outcomes[1].message
    assert "no longer exists" in outcomes[2].message
    assert not SubscriptionAction.objects.filter(behaviour_code=BehaviourCode.DEACTIVATE).exists()
    assert set(Subscription.objects.values_list("state", flat=True)) == {
        SubscriptionState.EFFECTIVE,
        SubscriptionState.SHORT_TERM_NOT_EFFECTIVE,
    }


def test_rerunning_the_same_ids_processes_nothing_twice(unsettled_and_settled):
    owing, paid = unsettled_and_settled
    run_batch([owing.pk, paid.pk])
    again = run_batch([owing.pk, paid.pk])
    assert not again[0].ok
    assert "no longer in short term deactivation" in again[0].message
    assert again[1].ok
    assert SubscriptionAction.objects.count() == 1


def test_outcomes_follow_the_order_of_the_ids(unsettled_and_settled, make_subscription):
    owing, paid = unsettled_and_settled
    orphan = make_subscription(with_term=False)
    ids = [paid.pk, 987654, orphan.pk, owing.pk]
    assert [o.record_id for o in run_batch(ids)] == ids
    assert run_batch([]) == []


def test_batch_uses_a_constant_number_of_queries(
    make_subscription, make_contact, make_invoice, custom_deactivate, end_short_term
):
    params = LeaveShortTermDeactivation.validate_parameters(
        {"subscription_action_type": "DEACT-NONPAY", "subscription_sub_action_type": "UNSETTLED"}
    )

    def batch(size: int) -> list[int]:
        """``size`` ids mixing every branch: deactivated, kept, no term, ineligible."""
        ids = []
        for index in range(size):
            contact = make_contact()
            if index % 2 == 0:
                make_invoice(contact, "12.00")
            subscription = make_subscription(contact=contact, with_term=index % 5 != 1)
            if index % 7 == 3:
                end_short_term(subscription, TODAY)
            ids.append(subscription.pk)
        return ids

    counts = []
    for size in (5, 50):
        ids = batch(size)
        with CaptureQueriesContext(connection) as queries:
            outcomes = get_process(LeaveShortTermDeactivation.key)().process_batch(
                params, ids, as_of=TODAY, run_number=1
            )
        assert len(outcomes) == size
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[1] <= 7
