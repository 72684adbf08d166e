"""Lead nurture: leads join a sequence, get its e-mails day after day through a real SMTP
server, stop at a reply, are closed for inactivity when it runs out; suppression, idempotence
and the parameters' errors."""

from __future__ import annotations

import datetime
import threading

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from nightshift.crm.choices import LeadState
from nightshift.crm.models import Lead
from nightshift.mail.models import (
    EmailMessage,
    EmailTemplate,
    NurtureSequence,
    NurtureStep,
    SuppressionEntry,
)
from nightshift.processes.base import ParameterError
from nightshift.processes.builtin.lead_nurture import LeadNurture
from nightshift.runs import actions, engine
from nightshift.runs.models import LogEntry, RunState
from nightshift.runs.scheduler import fire_task_now
from tests.mail.smtp import serve

from ._engine import items, run_process
from .conftest import TODAY

KEY = LeadNurture.key
DAY = datetime.timedelta(days=1)


@pytest.fixture
def smtp_server(settings):
    yield from serve(settings)


@pytest.fixture
def sequence(db) -> NurtureSequence:
    """Three e-mails: the day the lead joins, 3 days later, 4 days after that; then 5 days
    to reply."""
    sequence = NurtureSequence.objects.create(code="P2", name="Nurture P2", close_after_days=5)
    for position, delay in ((1, 0), (2, 3), (3, 4)):
        template = EmailTemplate.objects.create(
            code=f"p2-{position}",
            name=f"P2 e-mail {position}",
            subject=f"{{{{ first_name }}}}, e-mail {position}",
            body_text=f"Olá {{{{ full_name }}}} ({{{{ code }}}}), passo {position}.",
            body_html=f"<p>Olá <b>{{{{ full_name }}}}</b>, passo {position}.</p>",
        )
        NurtureStep.objects.create(
            sequence=sequence, position=position, delay_days=delay, template=template
        )
    return sequence


def make_lead(**fields) -> Lead:
    number = Lead.objects.count() + 1
    fields.setdefault("email", f"lead{number}@example.com")
    fields.setdefault("first_name", f"Lia {number}")
    fields.setdefault("next_email_date", TODAY)  # whoever moves a lead to nurture sets it
    return Lead.objects.create(code=f"L-{number}", state=LeadState.NURTURE, **fields)


def run_on(day: datetime.date, operator, **params):
    noon = datetime.datetime.combine(day, datetime.time(12), tzinfo=timezone.get_default_timezone())
    with time_machine.travel(noon, tick=False):
        return run_process(operator, KEY, {"sequence": "P2", **params})


def test_a_lead_joins_and_gets_the_first_email_with_placeholders_filled(
    sequence, operator, smtp_server
):
    lia = make_lead(first_name="Lia", last_name="Araújo")
    run = run_on(TODAY, operator)

    assert run.state == RunState.COMPLETED
    (received,) = smtp_server.received
    message = received.message
    assert received.rcpt_tos == [lia.email]
    assert message["Subject"] == "Lia, e-mail 1"
    assert message["To"].addresses[0].display_name == "Lia Araújo"
    assert "<b>Lia Araújo</b>" in message.get_body(("html",)).get_content()
    assert "(L-1), passo 1." in message.get_body(("plain",)).get_content()
    lia.refresh_from_db()
    assert timezone.localtime(lia.nurture_started_at).date() == TODAY
    assert lia.nurture_step == 1
    assert lia.next_email_date == TODAY + 3 * DAY
    assert lia.last_email_sent_at is not None
    stored = EmailMessage.objects.get()
    assert (stored.lead_id, stored.template.code) == (lia.pk, "p2-1")
    assert stored.message_id == f"<nurture.{TODAY:%Y%m%d}.{lia.pk}.1@localhost>"
    ok, note = items(run)[lia.pk]
    assert ok
    assert "Joined the sequence “P2”" in note
    assert "Step 1 of 3 done" in note


def test_a_first_step_with_a_delay_only_schedules_the_lead(sequence, operator, smtp_server):
    sequence.steps.filter(position=1).update(delay_days=2)
    lead = make_lead()
    run_on(TODAY, operator)

    assert smtp_server.received == []
    lead.refresh_from_db()
    assert (lead.nurture_step, lead.next_email_date) == (0, TODAY + 2 * DAY)
    run_on(TODAY + 2 * DAY, operator)
    assert [m.message["Subject"] for m in smtp_server.received] == [f"{lead.first_name}, e-mail 1"]


def test_step_by_step_over_the_days_then_closed_for_inactivity(sequence, operator, smtp_server):
    lead = make_lead(first_name="Rui")
    sent_on: dict[datetime.date, list[str]] = {}
    for offset in range(14):
        day = TODAY + offset * DAY
        before = len(smtp_server.received)
        run_on(day, operator)
        subjects = [m.message["Subject"] for m in smtp_server.received[before:]]
        if subjects:
            sent_on[day] = subjects

    assert sent_on == {
        TODAY: ["Rui, e-mail 1"],
        TODAY + 3 * DAY: ["Rui, e-mail 2"],
        TODAY + 7 * DAY: ["Rui, e-mail 3"],
    }
    lead.refresh_from_db()
    assert lead.state == LeadState.CLOSED_INACTIVE
    assert timezone.localtime(lead.closed_at).date() == TODAY + 12 * DAY
    assert (lead.nurture_step, lead.next_email_date) == (3, None)
    assert EmailMessage.objects.filter(lead=lead).count() == 3


def test_closing_outcome_says_why(sequence, operator, smtp_server):
    lead = make_lead(nurture_step=3, nurture_started_at=timezone.now(), next_email_date=TODAY)
    run = run_on(TODAY, operator)
    assert smtp_server.received == []
    ok, note = items(run)[lead.pk]
    assert ok
    assert "closed for inactivity" in note


def test_a_reply_stops_the_sequence(sequence, operator, smtp_server):
    lead = make_lead()
    run_on(TODAY, operator)
    # The inbound e-mail process saw the lead's answer.
    Lead.objects.filter(pk=lead.pk).update(replied_at=timezone.now())

    run = run_on(TODAY + DAY, operator)
    ok, note = items(run)[lead.pk]
    assert ok
    assert "Replied on" in note
    assert "no more e-mail" in note
    lead.refresh_from_db()
    assert (lead.state, lead.next_email_date, lead.closed_at) == (LeadState.CONTACTED, None, None)
    for offset in (3, 7, 12):
        run_on(TODAY + offset * DAY, operator)
    assert len(smtp_server.received) == 1


def test_suppressed_lead_is_not_mailed_and_still_goes_through_the_sequence(
    sequence, operator, smtp_server
):
    kept = make_lead()
    blocked = make_lead()
    SuppressionEntry.objects.create(email=blocked.email, reason="rejected")
    run = run_on(TODAY, operator)

    assert [r.rcpt_tos for r in smtp_server.received] == [[kept.email]]
    assert run.state == RunState.COMPLETED
    ok, note = items(run)[blocked.pk]
    assert ok
    assert "suppression list" in note
    assert LogEntry.objects.filter(run=run, message__contains=blocked.email).exists()
    blocked.refresh_from_db()
    assert (blocked.nurture_step, blocked.last_email_sent_at) == (1, None)
    assert not EmailMessage.objects.filter(lead=blocked).exists()


def test_running_again_the_same_day_sends_nothing_twice(sequence, operator, smtp_server):
    lead = make_lead()
    run_on(TODAY, operator)
    again = run_on(TODAY, operator)
    assert len(smtp_server.received) == 1
    assert lead.pk not in items(again)


def test_a_step_already_sent_is_not_sent_again_but_counts(sequence, operator, smtp_server):
    """A batch rolled back after the SMTP server took the letter: the lead is back on its step,
    the Message-ID on record keeps the letter from going out twice."""
    lead = make_lead()
    run_on(TODAY, operator)
    Lead.objects.filter(pk=lead.pk).update(nurture_step=0, next_email_date=TODAY)

    run = run_on(TODAY, operator)
    assert len(smtp_server.received) == 1
    ok, note = items(run)[lead.pk]
    assert ok
    assert "already sent" in note
    lead.refresh_from_db()
    assert (lead.nurture_step, lead.next_email_date) == (1, TODAY + 3 * DAY)


def test_a_lead_without_address_is_an_error_and_stays_on_its_step(sequence, operator, smtp_server):
    lead = make_lead(email="")
    run = run_on(TODAY, operator)
    ok, note = items(run)[lead.pk]
    assert not ok
    assert "no e-mail address" in note
    lead.refresh_from_db()
    assert (lead.nurture_step, lead.next_email_date) == (0, TODAY)
    assert lead.nurture_started_at is not None  # joined all the same


def test_source_restricts_the_leads(sequence, operator, smtp_server):
    web = make_lead(source="web")
    make_lead(source="fair")
    run_on(TODAY, operator, source="web")
    assert [r.rcpt_tos for r in smtp_server.received] == [[web.email]]


def test_leads_in_other_states_are_left_alone(sequence, operator, smtp_server):
    make_lead()
    Lead.objects.create(code="NEW-1", email="new@example.com", state=LeadState.NEW)
    run_on(TODAY, operator)
    assert [r.rcpt_tos for r in smtp_server.received] == [["lead1@example.com"]]


@pytest.mark.parametrize(
    ("change", "text"),
    [
        (lambda s: s.delete(), "There is no nurture sequence"),
        (lambda s: NurtureSequence.objects.filter(pk=s.pk).update(active=False), "not active"),
        (lambda s: s.steps.all().delete(), "has no steps"),
        (
            lambda s: EmailTemplate.objects.filter(code="p2-2").update(is_active=False),
            "Step 2 of the nurture sequence “P2” uses the inactive e-mail template “p2-2”",
        ),
    ],
)
def test_parameters_name_the_sequence_field(sequence, change, text):
    change(sequence)
    with pytest.raises(ParameterError) as error:
        LeadNurture.validate_parameters({"sequence": "P2"})
    assert set(error.value.errors) == {"sequence"}
    assert text in error.value.errors["sequence"]


def test_parameters_refuse_a_missing_sequence_and_unknown_fields(db):
    with pytest.raises(ParameterError) as error:
        LeadNurture.validate_parameters({"audience": "x"})
    assert {"sequence", "audience"} <= set(error.value.errors)


def test_a_sequence_emptied_after_the_definition_fails_the_run(sequence, operator, smtp_server):
    make_lead()
    noon = datetime.datetime.combine(
        TODAY, datetime.time(12), tzinfo=timezone.get_default_timezone()
    )
    with time_machine.travel(noon, tick=False):
        definition = actions.create_definition(
            user=operator,
            process_key=KEY,
            name="nurture",
            parameters={"sequence": "P2"},
            schedule={"mode": "now"},
        )
        task = actions.submit_definition(user=operator, unified_code=definition.unified_code)
        NurtureSequence.objects.filter(pk=sequence.pk).update(active=False)
        run = engine.execute(fire_task_now(task).pk, worker_id="test-worker")
    assert run.state == RunState.FAILED
    assert "“P2” does not exist, is not active or has no steps" in run.message
    assert smtp_server.received == []


def test_later_steps_must_wait_at_least_a_day(sequence):
    with pytest.raises(IntegrityError), transaction.atomic():
        NurtureStep.objects.create(
            sequence=sequence, position=4, delay_days=0, template=EmailTemplate.objects.first()
        )


def test_the_process_is_daily_by_default():
    assert LeadNurture.default_agenda == {"mode": "cron", "expression": "0 9 * * *"}


@pytest.mark.django_db(transaction=False)
def test_demo_nurture_scenario(operator, smtp_server):
    from nightshift.crm.demo import generate_demo
    from nightshift.crm.demo.generator import Scenario

    noon = datetime.datetime.combine(
        TODAY, datetime.time(12), tzinfo=timezone.get_default_timezone()
    )
    with time_machine.travel(noon, tick=False):
        generate_demo(size="small", seed=42)
        due = list(
            Lead.objects.filter(state=LeadState.NURTURE, next_email_date__lte=TODAY).values(
                "pk", "email", "nurture_step", "replied_at"
            )
        )
        suppressed = set(SuppressionEntry.objects.values_list("email", flat=True))
        run = run_process(operator, KEY, {"sequence": "nurture-p2"})

    def lead(index: int) -> Lead:
        return Lead.objects.get(code=f"LEAD-{index + 1:06d}")

    expected = {
        row["email"]
        for row in due
        if row["replied_at"] is None
        and row["nurture_step"] < 3
        and row["email"]
        and row["email"] not in suppressed
    }
    mailed = {r.rcpt_tos[0] for r in smtp_server.received}
    assert mailed == expected
    assert {lead(i).email for i in range(Scenario.NURTURE_DUE_LEADS)} <= mailed
    assert lead(Scenario.NURTURE_REPLIED_LEAD).state == LeadState.CONTACTED
    assert lead(Scenario.NURTURE_EXHAUSTED_LEAD).state == LeadState.CLOSED_INACTIVE
    assert run.state in (RunState.COMPLETED, RunState.COMPLETED_WITH_ERRORS)


@pytest.mark.postgres
def test_concurrent_batches_mail_each_lead_once(transactional_db, smtp_server):
    """Two workers on the same leads at once: the row locks make the second find them advanced
    (no longer due) and leave them alone."""
    template = EmailTemplate.objects.create(code="n1", name="n1", subject="Hi", body_text=".")
    sequence = NurtureSequence.objects.create(code="P2", name="P2")
    NurtureStep.objects.create(sequence=sequence, position=1, delay_days=0, template=template)
    NurtureStep.objects.create(sequence=sequence, position=2, delay_days=3, template=template)
    ids = [make_lead().pk for _n in range(30)]
    params = LeadNurture.validate_parameters({"sequence": "P2"})
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                LeadNurture().process_batch(params, ids, as_of=TODAY, run_number=None)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(smtp_server.received) == 30
    assert EmailMessage.objects.count() == 30
    assert set(Lead.objects.values_list("nurture_step", flat=True)) == {1}
