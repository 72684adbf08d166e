"""The default cadence of the mail, billing and job processes on the automatic agenda."""

from __future__ import annotations

import pytest

from nightshift.runs import actions

pytestmark = pytest.mark.django_db


def test_each_process_brings_its_default_cadence_and_an_administrator_may_change_it(
    administrator,
):
    assert actions.agenda_schedule("mail.birthdays")["expression"] == "0 8 * * *"
    assert actions.agenda_schedule("sales.expired_jobs")["expression"] == "*/30 * * * *"
    assert actions.agenda_schedule("system.bug_detector")["mode"] == "cron"
    for key in ("mail.suppression_list", "billing.past_due_invoices"):
        assert actions.agenda_schedule(key) is not None
    later = {"mode": "cron", "expression": "0 9 * * *"}
    actions.set_agenda(user=administrator, process_key="mail.birthdays", schedule=later)
    assert actions.agenda_schedule("mail.birthdays")["expression"] == "0 9 * * *"


def test_a_definition_following_the_agenda_fires_on_the_default_cadence(operator):
    from nightshift.mail.models import EmailTemplate

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
