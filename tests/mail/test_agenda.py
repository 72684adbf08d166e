"""The default cadence of the processes in the automatic agenda."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from nightshift.runs import actions
from nightshift.runs.models import AgendaEntry

pytestmark = pytest.mark.django_db


def test_seed_agenda_adds_the_default_cadences_and_keeps_existing_entries():
    AgendaEntry.objects.create(
        process_key="mail.birthdays", schedule={"mode": "cron", "expression": "0 9 * * *"}
    )
    out = io.StringIO()
    call_command("seed_agenda", stdout=out)

    schedules = dict(AgendaEntry.objects.values_list("process_key", "schedule"))
    assert schedules["mail.birthdays"]["expression"] == "0 9 * * *"
    assert schedules["sales.expired_jobs"]["expression"] == "*/30 * * * *"
    assert schedules["system.bug_detector"]["mode"] == "cron"
    assert {"mail.suppression_list", "billing.past_due_invoices"} <= set(schedules)
    assert "sales.expired_jobs" in out.getvalue()
    again = io.StringIO()
    call_command("seed_agenda", stdout=again)
    assert "nothing to add" in again.getvalue()


def test_a_definition_following_the_agenda_fires_on_the_default_cadence(operator):
    from nightshift.mail.models import EmailTemplate

    call_command("seed_agenda", stdout=io.StringIO())
    EmailTemplate.objects.create(code="bday", name="b", subject="s", body_text="t")
    definition = actions.create_definition(
        user=operator,
        process_key="mail.birthdays",
        name="Birthdays",
        parameters={"template": "bday"},
        follow_agenda=True,
    )
    task = actions.submit_definition(user=operator, unified_code=definition.unified_code)
    assert task.schedule["expression"] == "0 8 * * *"
    assert task.next_fire_at.minute == 0
