"""Suppression list: rejected contacts with an address join the list, nobody else; repeated
runs add nothing twice; every sending process then skips them."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import timezone

from nightshift.crm.choices import ContactStatus
from nightshift.crm.models import Contact, Dispatch, Task
from nightshift.mail.models import EmailTemplate, SuppressionEntry
from nightshift.processes.builtin.birthdays import BirthdayEmails
from nightshift.processes.builtin.expired_jobs import ExpiredJobs
from nightshift.processes.builtin.suppression_list import SuppressRejectedContacts
from nightshift.runs.models import RunState
from tests.mail.smtp import serve

from ._engine import run_process
from .conftest import TODAY

KEY = SuppressRejectedContacts.key


@pytest.fixture
def smtp_server(settings):
    yield from serve(settings)


def contact(code: str, status: str, email: str, **fields) -> Contact:
    return Contact.objects.create(code=code, first_name=code, status=status, email=email, **fields)


@pytest.fixture
def population(db) -> dict[str, Contact]:
    return {
        "rejected": contact("R1", ContactStatus.REJECTED, "r1@example.com"),
        "rejected_upper": contact("R2", ContactStatus.REJECTED, "r2@example.com"),
        "rejected_no_email": contact("R3", ContactStatus.REJECTED, ""),
        "active": contact("A1", ContactStatus.ACTIVE, "a1@example.com"),
        "inactive": contact("I1", ContactStatus.INACTIVE, "i1@example.com"),
    }


def test_only_rejected_contacts_with_an_address_are_added(population, operator):
    # An address stored in mixed case (an import) is listed in lower case.
    Contact.objects.filter(code="R2").update(email="R2.Mixed@Example.com")
    run = run_process(operator, KEY, {})

    assert run.state == RunState.COMPLETED
    listed = dict(SuppressionEntry.objects.values_list("email", "contact__code"))
    assert listed == {"r1@example.com": "R1", "r2.mixed@example.com": "R2"}
    assert run.total == 2


def test_running_again_adds_nothing_and_has_no_candidates(population, operator):
    run_process(operator, KEY, {})
    again = run_process(operator, KEY, {})
    assert again.total == 0
    assert SuppressionEntry.objects.count() == 2


def test_an_address_listed_by_hand_keeps_its_entry(population, operator):
    SuppressionEntry.objects.create(email="r1@example.com", reason="asked by phone")
    run_process(operator, KEY, {})
    assert SuppressionEntry.objects.get(email="r1@example.com").reason == "asked by phone"


def test_batch_reports_an_address_listed_meanwhile_as_already_there(population):
    process = SuppressRejectedContacts()
    rejected = population["rejected"]
    outcomes = process.process_batch({}, [rejected.pk], as_of=TODAY, run_number=1)
    assert outcomes[0].ok
    assert "added" in outcomes[0].message
    again = process.process_batch({}, [rejected.pk], as_of=TODAY, run_number=2)
    assert again[0].ok
    assert SuppressionEntry.objects.count() == 1


def test_demo_rejected_contacts_are_listed(operator):
    from nightshift.crm.demo import generate_demo

    generate_demo(size="small", seed=42)
    before = SuppressionEntry.objects.count()
    expected = set(
        Contact.objects.filter(status=ContactStatus.REJECTED)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    run = run_process(operator, KEY, {})
    listed = set(SuppressionEntry.objects.values_list("email", flat=True))
    assert expected <= listed
    assert run.succeeded == SuppressionEntry.objects.count() - before > 0
    non_rejected = Contact.objects.exclude(status=ContactStatus.REJECTED).filter(
        email__in=listed - expected
    )
    # Whatever else is on the list was there before the run (the demo's own entries).
    assert (
        SuppressionEntry.objects.filter(
            contact__in=non_rejected, reason__startswith="Contact rejected"
        ).count()
        == 0
    )


def test_every_sending_process_respects_the_list(population, operator, make_user, smtp_server):
    """Once a contact is suppressed, the birthday greeting and a user's job alert both skip
    the address."""
    noon = datetime.datetime.combine(
        TODAY, datetime.time(12), tzinfo=timezone.get_default_timezone()
    )
    with time_machine.travel(noon, tick=False):
        rejected = population["rejected"]
        Contact.objects.filter(pk=rejected.pk).update(
            birth_date=datetime.date(1980, TODAY.month, TODAY.day)
        )
        EmailTemplate.objects.create(code="bday", name="b", subject="Hi", body_text="Hi")
        owner = make_user("rui", email="r1@example.com")  # a user sharing the suppressed address
        Task.objects.create(
            subject="Call", owner=owner, due_at=timezone.now() - datetime.timedelta(hours=5)
        )
        run_process(operator, KEY, {})
        birthdays = run_process(operator, BirthdayEmails.key, {"template": "bday"})
        jobs = run_process(operator, ExpiredJobs.key, {"alert_manager": False})

    assert smtp_server.received == []
    assert birthdays.state == jobs.state == RunState.COMPLETED
    assert Dispatch.objects.count() == 0
