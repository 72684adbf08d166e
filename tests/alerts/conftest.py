"""Fixtures of the alerts tests: the clock at noon on TODAY, CRM records with owners, PARC
agreements with a visiting team, and running a process through the engine."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from decimal import Decimal
from itertools import count

import pytest
import time_machine
from django.utils import timezone

from nightshift.core.models import Team
from nightshift.crm.models import (
    Action,
    Contact,
    Event,
    Invoice,
    Opportunity,
    ParcAgreement,
    Task,
)
from nightshift.processes.registry import get_process
from nightshift.runs import actions as run_actions
from nightshift.runs import engine
from nightshift.runs.models import ApplicationServer, ProcessRun, SchedulerState
from nightshift.runs.scheduler import fire_due
from nightshift.runs.workers import registered

TODAY = datetime.date(2026, 11, 23)  # a Monday


def at(day_offset: int = 0, hour: int = 12, minute: int = 0) -> datetime.datetime:
    """Local ``hour:minute`` on TODAY + ``day_offset`` days."""
    day = TODAY + datetime.timedelta(days=day_offset)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    """The clock stopped at noon on TODAY; ``clock.move_to(...)`` moves it."""
    with time_machine.travel(at(0, 12), tick=False) as traveller:
        yield traveller


@pytest.fixture
def manager(make_user):
    return make_user("maria", email="maria@example.com", first_name="Maria", last_name="Souza")


@pytest.fixture
def other_manager(make_user):
    return make_user("pedro", email="pedro@example.com", first_name="Pedro")


@pytest.fixture
def contact(db, manager) -> Contact:
    return Contact.objects.create(
        code="C-1", first_name="Ana", last_name="Lima", account_manager=manager, address="Rua A 1"
    )


@pytest.fixture
def make_task(contact, manager) -> Callable[..., Task]:
    def make(**fields) -> Task:
        values = {
            "subject": "Call back",
            "contact": contact,
            "owner": manager,
            "due_at": at(5),
        }
        values.update(fields)
        return Task.objects.create(**values)

    return make


@pytest.fixture
def make_action(contact, manager) -> Callable[..., Action]:
    def make(**fields) -> Action:
        values = {"kind": "call", "contact": contact, "owner": manager, "description": "Ring"}
        values.update(fields)
        return Action.objects.create(**values)

    return make


@pytest.fixture
def make_opportunity(contact, manager) -> Callable[..., Opportunity]:
    numbers = count(1)

    def make(**fields) -> Opportunity:
        values = {
            "code": f"OPP-{next(numbers)}",
            "name": "Fibre upgrade",
            "contact": contact,
            "owner": manager,
            "expected_close_date": TODAY + datetime.timedelta(days=30),
        }
        values.update(fields)
        return Opportunity.objects.create(**values)

    return make


@pytest.fixture
def make_event(contact, manager) -> Callable[..., Event]:
    def make(**fields) -> Event:
        values = {
            "subject": "Product demo",
            "contact": contact,
            "owner": manager,
            "starts_at": at(1, 10),
            "ends_at": at(1, 11),
        }
        values.update(fields)
        return Event.objects.create(**values)

    return make


@pytest.fixture
def make_invoice(contact) -> Callable[..., Invoice]:
    numbers = count(1)

    def make(**fields) -> Invoice:
        values = {
            "code": f"INV-{next(numbers)}",
            "contact": contact,
            "issued_on": TODAY - datetime.timedelta(days=20),
            "amount": Decimal("100.00"),
            "balance": Decimal("40.00"),
        }
        values.update(fields)
        return Invoice.objects.create(**values)

    return make


@pytest.fixture
def team(unit, make_user) -> Team:
    leader = make_user("tiago", email="tiago@example.com")
    team = Team.objects.create(code="PARC", name="PARC visiting team", unit=unit, leader=leader)
    team.members.add(leader)
    return team


@pytest.fixture
def make_agreement(team, manager, contact) -> Callable[..., ParcAgreement]:
    numbers = count(1)

    def make(**fields) -> ParcAgreement:
        values = {
            "code": f"PARC-{next(numbers):05d}",
            "contact": contact,
            "account_manager": manager,
            "visiting_team": team,
            "visit_every_days": 90,
            "next_visit_date": TODAY,
            "starts_on": TODAY - datetime.timedelta(days=400),
        }
        values.update(fields)
        return ParcAgreement.objects.create(**values)

    return make


@pytest.fixture
def run_process(administrator) -> Callable[..., ProcessRun]:
    """Define, submit and fire a "run now" definition of ``key`` and execute it on a worker;
    returns the run as it ended. The engine's after-commit work runs when the test captures
    it (``django_capture_on_commit_callbacks``) or commits."""
    SchedulerState.objects.update_or_create(pk=1, defaults={"running": True})

    def run(key: str, parameters: dict | None = None, *, batch_size: int = 2) -> ProcessRun:
        get_process(key)  # fails loudly when the process is not registered
        definition = run_actions.create_definition(
            user=administrator,
            process_key=key,
            name=f"Test {key}",
            parameters=parameters or {},
            schedule={"mode": "now"},
            notify_on_completion=False,
        )
        task = run_actions.submit_definition(
            user=administrator, unified_code=definition.unified_code
        )
        (process_run,) = fire_due(task.next_fire_at)
        with registered(ApplicationServer.default()) as worker_id:
            ended = engine.execute(process_run.pk, worker_id=worker_id, batch_size=batch_size)
        assert ended is not None
        return ended

    return run
