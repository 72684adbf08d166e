"""``nightshift agenda_defaults``: the account routines' default cadence on the automatic
agenda, without overwriting an administrator's choice, and only for those who may."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from nightshift.erp.agenda import DEFAULT_AGENDA
from nightshift.runs import actions
from nightshift.runs.models import AgendaEntry, LogEntry

WEEKLY = {"mode": "cron", "expression": "0 5 * * 1"}


def agenda_defaults(*args: str) -> list[dict]:
    out = StringIO()
    call_command("agenda_defaults", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_the_declared_defaults_are_put_on_the_agenda(administrator):
    rows = agenda_defaults("--user", administrator.username)
    assert {r["process"]: r["agenda"] for r in rows} == dict.fromkeys(DEFAULT_AGENDA, "set")
    entry = AgendaEntry.objects.get(process_key="accounts.movement_monitoring")
    assert entry.schedule["repeat"] == {"weekly": {"every": 1, "weekdays": ["MO"]}}
    assert entry.updated_by == administrator
    assert LogEntry.objects.filter(message__contains="set the automatic agenda").count() == 4


def test_an_administrators_choice_is_kept_unless_replaced(administrator):
    actions.set_agenda(user=administrator, process_key="accounts.status", schedule=WEEKLY)
    rows = agenda_defaults("--user", administrator.username)
    assert {"process": "accounts.status", "agenda": "kept"} in rows
    assert AgendaEntry.objects.get(process_key="accounts.status").schedule["mode"] == "cron"
    agenda_defaults("--user", administrator.username, "--replace")
    assert AgendaEntry.objects.get(process_key="accounts.status").schedule["mode"] == "advanced"


def test_operators_may_not_set_the_agenda(operator):
    with pytest.raises(CommandError):
        agenda_defaults("--user", operator.username)
    assert not AgendaEntry.objects.exists()
