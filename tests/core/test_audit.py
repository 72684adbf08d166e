"""The manuals' "Log information": created/updated by user and unit, with dates, on every
record and on every write path (save, bulk insert, bulk update)."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import timezone

from nightshift.core.audit import acting_as
from nightshift.core.models import Unit, UserProfile
from nightshift.crm.models import Contact, ProductFamily


@pytest.fixture
def other_unit(db) -> Unit:
    return Unit.objects.create(code="FIELD", name="Field services")


def test_save_stamps_creator_and_unit_from_the_acting_user(operator, unit):
    with acting_as(operator):
        family = ProductFamily.objects.create(code="TV", name="Television")
    assert family.created_by == operator
    assert family.created_by_unit == unit
    assert family.updated_by == operator
    assert family.updated_by_unit == unit


def test_update_by_another_user_keeps_creator_and_records_updater(
    operator, administrator, other_unit
):
    UserProfile.objects.filter(user=administrator).update(unit=other_unit)
    january = datetime.datetime(2026, 1, 5, 9, tzinfo=datetime.UTC)
    february = datetime.datetime(2026, 2, 7, 9, tzinfo=datetime.UTC)
    with time_machine.travel(january, tick=False), acting_as(operator):
        family = ProductFamily.objects.create(code="TV", name="Television")
    with time_machine.travel(february, tick=False), acting_as(administrator):
        family.name = "TV & streaming"
        family.save()
    family.refresh_from_db()
    assert (family.created_by, family.created_by_unit) == (operator, operator.profile.unit)
    assert (family.updated_by, family.updated_by_unit) == (administrator, other_unit)
    assert family.created_at == january
    assert family.updated_at == february


def test_save_with_update_fields_still_records_who_updated(operator, administrator):
    with acting_as(operator):
        family = ProductFamily.objects.create(code="TV", name="Television")
    with acting_as(administrator):
        family.name = "Streaming"
        family.save(update_fields=["name"])
    family.refresh_from_db()
    assert family.updated_by == administrator


def test_bulk_create_stamps_every_row(operator, unit):
    with acting_as(operator):
        Contact.objects.bulk_create(
            [Contact(code=f"C{i}", first_name="Ana", last_name=str(i)) for i in range(3)]
        )
    stamped = Contact.objects.filter(created_by=operator, created_by_unit=unit, updated_by=operator)
    assert stamped.count() == 3


def test_bulk_update_records_the_updater_and_date(operator, administrator):
    with acting_as(operator):
        Contact.objects.create(code="C1", first_name="Ana")
    before = timezone.now()
    with acting_as(administrator):
        Contact.objects.filter(code="C1").update(city="Recife")
    contact = Contact.objects.get(code="C1")
    assert contact.updated_by == administrator
    assert contact.created_by == operator
    assert contact.updated_at >= before


def test_system_writes_leave_the_user_blank_but_date_the_record(db):
    family = ProductFamily.objects.create(code="TV", name="Television")
    assert family.created_by is None
    assert family.created_at is not None
    assert family.updated_at is not None


def test_explicit_creation_date_is_kept_for_imported_history(db):
    # Archiving selects by creation date, so imported and demo records keep their real one.
    long_ago = timezone.now() - datetime.timedelta(days=800)
    family = ProductFamily.objects.create(code="OLD", name="Old", created_at=long_ago)
    family.refresh_from_db()
    assert family.created_at == long_ago
