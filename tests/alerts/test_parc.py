"""The PARC agreements process: what each due agreement generates, for whom, the next visit
date, nothing generated twice, and one summary e-mail per account manager — never two."""

from __future__ import annotations

import datetime

import pytest

from nightshift.alerts.actions import send_parc_summaries
from nightshift.alerts.choices import SummaryState
from nightshift.alerts.models import ParcSummary, ParcVisit
from nightshift.alerts.processes import ParcAgreementsProcess
from nightshift.crm.choices import ActionKind, JobState, OpportunityStage
from nightshift.crm.models import Action, Dispatch, Opportunity, ParcAgreement, Task
from nightshift.runs.models import LogEntry, RunState

from .conftest import TODAY, at

KEY = ParcAgreementsProcess.key
DAY = datetime.timedelta(days=1)


def due(params: dict | None = None, as_of: datetime.date = TODAY) -> set[str]:
    normalised = ParcAgreementsProcess.validate_parameters(params or {})
    candidates = ParcAgreementsProcess().candidates(normalised, as_of=as_of)
    return set(candidates.values_list("code", flat=True))


def run_batch(ids, params=None, *, as_of=TODAY, run_number=None):
    normalised = ParcAgreementsProcess.validate_parameters(params or {})
    return ParcAgreementsProcess().process_batch(
        normalised, ids, as_of=as_of, run_number=run_number
    )


# -- which agreements are due ----------------------------------------------------------------


def test_agreements_due_within_the_horizon_active_and_within_their_term(make_agreement):
    today = make_agreement(next_visit_date=TODAY)
    missed = make_agreement(next_visit_date=TODAY - 10 * DAY)
    in_six_days = make_agreement(next_visit_date=TODAY + 6 * DAY)
    make_agreement(next_visit_date=TODAY + 7 * DAY)  # beyond the week
    make_agreement(is_active=False)
    make_agreement(ends_on=TODAY - DAY, starts_on=TODAY - 400 * DAY)  # ended before the visit
    make_agreement(starts_on=TODAY + DAY, next_visit_date=TODAY)  # not started on that date
    assert due() == {today.code, missed.code, in_six_days.code}
    assert due({"horizon_days": 0}) == {today.code, missed.code}


# -- what a visit generates ------------------------------------------------------------------


def test_a_due_agreement_generates_opportunity_inspection_follow_up_and_dispatch(
    clock, make_agreement, manager, team, contact
):
    agreement = make_agreement(next_visit_date=TODAY + 2 * DAY)
    (outcome,) = run_batch([agreement.pk], run_number=None)
    assert outcome.ok
    visit_day = TODAY + 2 * DAY

    opportunity = Opportunity.objects.get(parc_agreement=agreement)
    assert opportunity.code == f"PARC-{agreement.pk}-{visit_day:%Y%m%d}"
    assert (opportunity.owner, opportunity.contact) == (manager, contact)
    assert opportunity.stage == OpportunityStage.PROSPECTING
    assert opportunity.expected_close_date == visit_day + 7 * DAY

    inspection = Task.objects.get(parc_agreement=agreement, team=team)
    assert inspection.subject == f"PARC inspection {agreement.code}"
    assert inspection.owner == team.leader
    assert inspection.manager == manager
    assert inspection.due_at == at(2, 9)
    assert inspection.opportunity == opportunity
    assert inspection.state == JobState.OPEN

    follow_up = Task.objects.get(parc_agreement=agreement, team=None)
    assert follow_up.owner == manager
    assert follow_up.due_at == at(9, 9)
    assert follow_up.opportunity == opportunity

    dispatch = Dispatch.objects.get(parc_agreement=agreement)
    assert dispatch.team == team
    assert dispatch.owner == team.leader
    assert dispatch.manager == manager
    assert dispatch.due_at == at(2, 9)
    assert dispatch.address == "Rua A 1"

    visit = ParcVisit.objects.get()
    assert (visit.agreement, visit.due_date, visit.planned_for) == (agreement, visit_day, visit_day)
    assert (visit.opportunity, visit.inspection_task, visit.follow_up_task, visit.dispatch) == (
        opportunity,
        inspection,
        follow_up,
        dispatch,
    )
    agreement.refresh_from_db()
    assert agreement.next_visit_date == visit_day + 90 * DAY
    assert f"dispatch {dispatch.code} to team PARC" in outcome.message


def test_the_follow_up_can_be_a_call_action_with_a_reminder(clock, make_agreement, manager):
    agreement = make_agreement()
    run_batch([agreement.pk], {"follow_up": "action", "follow_up_days": 3})
    action = Action.objects.get()
    assert (action.kind, action.owner) == (ActionKind.CALL, manager)
    assert action.reminder_at == at(3, 9)
    assert action.performed_at is None
    assert ParcVisit.objects.get().follow_up_action == action
    assert Task.objects.filter(parc_agreement=agreement).count() == 1  # the inspection only


def test_a_missed_visit_is_planned_today_and_the_missed_periods_are_skipped(clock, make_agreement):
    agreement = make_agreement(next_visit_date=TODAY - 70 * DAY, visit_every_days=30)
    (outcome,) = run_batch([agreement.pk])
    assert Dispatch.objects.get().due_at == at(0, 9)
    agreement.refresh_from_db()
    assert agreement.next_visit_date == TODAY + 20 * DAY  # -70 → -40 → -10 → +20
    assert "2 missed visits were skipped" in outcome.message


# -- nothing twice ---------------------------------------------------------------------------


def test_a_repeated_batch_generates_nothing_more(clock, make_agreement):
    agreement = make_agreement()
    run_batch([agreement.pk])
    (again,) = run_batch([agreement.pk])
    assert not again.ok
    assert "no longer due" in again.message
    assert Opportunity.objects.count() == Dispatch.objects.count() == 1


def test_a_visit_already_generated_is_not_generated_again_if_the_date_is_set_back(
    clock, make_agreement
):
    agreement = make_agreement()
    run_batch([agreement.pk])
    ParcAgreement.objects.filter(pk=agreement.pk).update(next_visit_date=TODAY)
    (outcome,) = run_batch([agreement.pk])
    assert outcome.ok
    assert "already generated" in outcome.message
    assert ParcVisit.objects.count() == Opportunity.objects.count() == 1
    agreement.refresh_from_db()
    assert agreement.next_visit_date == TODAY + 90 * DAY


# -- the run and the summary e-mails ---------------------------------------------------------


def test_a_run_mails_each_account_manager_once_with_their_visits(
    clock,
    run_process,
    *,
    make_agreement,
    manager,
    other_manager,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    mine = [make_agreement(), make_agreement(next_visit_date=TODAY + 3 * DAY)]
    theirs = make_agreement(account_manager=other_manager)
    make_agreement(account_manager=None)
    make_agreement(next_visit_date=TODAY + 30 * DAY)  # not due
    with django_capture_on_commit_callbacks(execute=True):
        run = run_process(KEY, {}, batch_size=2)
    assert run.state == RunState.COMPLETED
    assert (run.total, run.succeeded) == (4, 4)
    assert sorted(m.to[0] for m in mailoutbox) == [manager.email, other_manager.email]
    (to_maria,) = [m for m in mailoutbox if m.to == [manager.email]]
    assert to_maria.subject == f"PARC agreements: 2 visits generated (run #{run.pk})"
    for agreement in mine:
        assert agreement.code in to_maria.body
    assert theirs.code not in to_maria.body
    assert "Hello Maria Souza," in to_maria.body
    assert f"/runs/{run.pk}/" in to_maria.body
    assert set(ParcSummary.objects.values_list("state", flat=True)) == {SummaryState.SENT}
    assert (
        LogEntry.objects.filter(run=run, message__startswith="PARC summary e-mailed").count() == 2
    )


def test_complete_called_again_after_a_crash_mails_nobody_twice(
    clock, make_agreement, manager, mailoutbox, django_capture_on_commit_callbacks
):
    agreement = make_agreement()
    params = ParcAgreementsProcess.validate_parameters({})
    run_batch([agreement.pk], run_number=41)
    process = ParcAgreementsProcess()
    with django_capture_on_commit_callbacks(execute=True):
        process.complete(params, as_of=TODAY, run_number=41)
    with django_capture_on_commit_callbacks(execute=True):
        process.complete(params, as_of=TODAY, run_number=41)  # the run's next worker
    assert send_parc_summaries(run_number=41) == {"sent": 0, "failed": 0}
    assert len(mailoutbox) == 1
    assert ParcSummary.objects.get().state == SummaryState.SENT


def test_a_summary_left_pending_by_a_crash_is_sent_when_complete_runs_again(
    clock, make_agreement, mailoutbox, django_capture_on_commit_callbacks
):
    agreement = make_agreement()
    params = ParcAgreementsProcess.validate_parameters({})
    run_batch([agreement.pk], run_number=42)
    # The worker died after complete() committed, before its after-commit sending ran.
    with django_capture_on_commit_callbacks(execute=False):
        ParcAgreementsProcess().complete(params, as_of=TODAY, run_number=42)
    assert ParcSummary.objects.get().state == SummaryState.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        ParcAgreementsProcess().complete(params, as_of=TODAY, run_number=42)
    assert len(mailoutbox) == 1


def test_a_summary_claimed_by_a_sender_is_never_sent_again(clock, make_agreement, mailoutbox):
    agreement = make_agreement()
    run_batch([agreement.pk], run_number=43)
    ParcAgreementsProcess().complete({}, as_of=TODAY, run_number=43)
    ParcSummary.objects.update(state=SummaryState.SENDING)  # a sender crashed mid-send
    send_parc_summaries(run_number=43)
    assert mailoutbox == []


def test_a_manager_without_e_mail_is_reported_not_mailed(
    clock, make_agreement, manager, mailoutbox
):
    manager.email = ""
    manager.save()
    run_batch([make_agreement().pk], run_number=44)
    ParcAgreementsProcess().complete({}, as_of=TODAY, run_number=44)
    assert send_parc_summaries(run_number=44) == {"sent": 0, "failed": 1}
    summary = ParcSummary.objects.get()
    assert summary.state == SummaryState.FAILED
    assert "has no e-mail address" in summary.error
    assert mailoutbox == []


@pytest.mark.parametrize("bad", [{"follow_up": "fax"}, {"horizon_days": -1}])
def test_parameters_are_checked(bad):
    from nightshift.processes.base import ParameterError

    with pytest.raises(ParameterError) as error:
        ParcAgreementsProcess.validate_parameters(bad)
    assert set(error.value.errors) == set(bad)
