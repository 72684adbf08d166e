"""Birthday e-mails: who is greeted (29 February included), what they get through a real SMTP
server, suppression and idempotence, and the demo data's scenario."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import timezone

from nightshift.crm.models import Audience, Contact
from nightshift.mail.models import EmailMessage, EmailTemplate, SuppressionEntry
from nightshift.processes.base import ParameterError
from nightshift.processes.builtin.birthdays import BirthdayEmails
from nightshift.runs.models import LogEntry, RunState
from tests.mail.smtp import serve

from ._engine import items, run_process
from .conftest import TODAY

KEY = BirthdayEmails.key


@pytest.fixture
def smtp_server(settings):
    yield from serve(settings)


@pytest.fixture
def template(db) -> EmailTemplate:
    return EmailTemplate.objects.create(
        code="bday",
        name="Birthday",
        subject="Feliz aniversário, {{ first_name }}!",
        body_text="Olá {{ full_name }}, parabéns pelos {{ age }} anos.",
        body_html="<p>Olá <b>{{ full_name }}</b>, parabéns pelos {{ age }} anos.</p>",
    )


def born(_factory, year: int, month: int, day: int, **fields) -> Contact:
    number = Contact.objects.count() + 1
    fields.setdefault("email", f"c{number}@example.com")
    fields.setdefault("first_name", f"Ana {number}")
    return Contact.objects.create(
        code=f"C-{number}", birth_date=datetime.date(year, month, day), **fields
    )


def selected(as_of: datetime.date, **params) -> set[int]:
    normalised = BirthdayEmails.validate_parameters({"template": "bday", **params})
    return set(BirthdayEmails().candidates(normalised, as_of=as_of).values_list("pk", flat=True))


def test_contacts_born_today_with_an_address_are_candidates(make_contact, template):
    today = born(make_contact, 1990, TODAY.month, TODAY.day)
    born(make_contact, 1990, TODAY.month, TODAY.day + 1)
    born(make_contact, 1990, TODAY.month, TODAY.day, email="")
    Contact.objects.create(code="NB", first_name="No", email="nobirth@example.com")
    assert selected(TODAY) == {today.pk}


def test_leap_day_birthdays_are_greeted_on_28_february_of_common_years(make_contact, template):
    leap = born(make_contact, 1988, 2, 29)
    feb28 = born(make_contact, 1990, 2, 28)
    assert selected(datetime.date(2027, 2, 28)) == {leap.pk, feb28.pk}
    assert selected(datetime.date(2027, 3, 1)) == set()


def test_leap_day_birthdays_wait_for_29_february_in_leap_years(make_contact, template):
    leap = born(make_contact, 1988, 2, 29)
    feb28 = born(make_contact, 1990, 2, 28)
    assert selected(datetime.date(2028, 2, 28)) == {feb28.pk}
    assert selected(datetime.date(2028, 2, 29)) == {leap.pk}


def test_audience_restricts_the_candidates(make_contact, template):
    recife = born(make_contact, 1990, TODAY.month, TODAY.day, city="Recife")
    born(make_contact, 1990, TODAY.month, TODAY.day, city="Natal")
    Audience.objects.create(name="Recife", criteria={"city": "Recife"})
    assert selected(TODAY, audience="Recife") == {recife.pk}


def test_parameters_name_the_missing_template_and_audience(db):
    with pytest.raises(ParameterError) as error:
        BirthdayEmails.validate_parameters({"template": "nope", "audience": "ghosts"})
    assert set(error.value.errors) == {"template", "audience"}


def test_subject_with_broken_placeholders_is_refused(template):
    with pytest.raises(ParameterError) as error:
        BirthdayEmails.validate_parameters({"template": "bday", "subject": "{% if %}"})
    assert "subject" in error.value.errors


def _at_noon(day: datetime.date):
    noon = datetime.datetime.combine(day, datetime.time(12), tzinfo=timezone.get_default_timezone())
    return time_machine.travel(noon, tick=False)


def test_run_mails_each_contact_with_placeholders_filled(
    make_contact, template, operator, smtp_server
):
    ana = born(make_contact, 1990, TODAY.month, TODAY.day, first_name="Ana", last_name="Araújo")
    with _at_noon(TODAY):
        run = run_process(operator, KEY, {"template": "bday"})

    assert run.state == RunState.COMPLETED
    (received,) = smtp_server.received
    message = received.message
    assert received.rcpt_tos == [ana.email]
    assert message["Subject"] == "Feliz aniversário, Ana!"
    assert message["To"].addresses[0].display_name == "Ana Araújo"
    html = message.get_body(("html",)).get_content()
    assert "<b>Ana Araújo</b>" in html
    assert "36 anos" in html
    stored = EmailMessage.objects.get()
    assert (stored.contact_id, stored.template_id) == (ana.pk, template.pk)
    assert stored.message_id == f"<birthday.{TODAY:%Y%m%d}.{ana.pk}@localhost>"


def test_subject_from_the_definition_replaces_the_templates(
    make_contact, template, operator, smtp_server
):
    born(make_contact, 1990, TODAY.month, TODAY.day, first_name="Bia")
    with _at_noon(TODAY):
        run_process(operator, KEY, {"template": "bday", "subject": "Parabéns {{ first_name }}"})
    assert smtp_server.received[0].message["Subject"] == "Parabéns Bia"


def test_suppressed_contact_is_skipped_and_the_skip_logged(
    make_contact, template, operator, smtp_server
):
    kept = born(make_contact, 1990, TODAY.month, TODAY.day)
    blocked = born(make_contact, 1991, TODAY.month, TODAY.day)
    SuppressionEntry.objects.create(email=blocked.email, reason="rejected")
    with _at_noon(TODAY):
        run = run_process(operator, KEY, {"template": "bday"}, log_level="errors")

    assert [r.rcpt_tos for r in smtp_server.received] == [[kept.email]]
    assert run.state == RunState.COMPLETED
    log = LogEntry.objects.filter(run=run, message__contains=blocked.email)
    assert log.count() == 1
    assert "suppression list" in log.get().message


def test_running_twice_the_same_day_greets_once(make_contact, template, operator, smtp_server):
    ana = born(make_contact, 1990, TODAY.month, TODAY.day)
    with _at_noon(TODAY):
        run_process(operator, KEY, {"template": "bday"})
        again = run_process(operator, KEY, {"template": "bday"})
    assert len(smtp_server.received) == 1
    ok, message = items(again)[ana.pk]
    assert ok
    assert "already sent" in message


def test_template_deactivated_after_the_definition_fails_the_run(
    make_contact, template, operator, smtp_server
):
    born(make_contact, 1990, TODAY.month, TODAY.day)
    with _at_noon(TODAY):
        from nightshift.runs import actions, engine
        from nightshift.runs.scheduler import fire_task_now

        definition = actions.create_definition(
            user=operator,
            process_key=KEY,
            name="b",
            parameters={"template": "bday"},
            schedule={"mode": "now"},
        )
        EmailTemplate.objects.update(is_active=False)
        task = actions.submit_definition(user=operator, unified_code=definition.unified_code)
        run = engine.execute(fire_task_now(task).pk, worker_id="w")
    assert run.state == RunState.FAILED
    assert "bday" in run.message
    assert "not active" in run.message
    assert smtp_server.received == []


@pytest.mark.django_db(transaction=False)
def test_demo_birthday_scenario_is_greeted_except_rejected(operator, smtp_server, settings):
    from nightshift.crm.demo import generate_demo
    from nightshift.crm.demo.generator import Scenario

    with _at_noon(TODAY):
        generate_demo(size="small", seed=42)
        today = timezone.localdate()
        expected = {
            pk
            for pk, email, birth, status in Contact.objects.exclude(email="")
            .exclude(birth_date=None)
            .values_list("pk", "email", "birth_date", "status")
            if (birth.month, birth.day) == (today.month, today.day)
        }
        suppressed = set(SuppressionEntry.objects.values_list("email", flat=True))
        run = run_process(operator, KEY, {"template": "birthday"})

    scenario = {
        Contact.objects.get(code=f"CUS-{index + 1:07d}").pk for index in Scenario.BIRTHDAY_TODAY
    }
    assert scenario <= expected
    mailed = {r.rcpt_tos[0] for r in smtp_server.received}
    emails = dict(Contact.objects.filter(pk__in=expected).values_list("pk", "email"))
    assert mailed == {emails[pk] for pk in expected if emails[pk] not in suppressed}
    assert run.state == RunState.COMPLETED
    assert run.total == len(expected)
