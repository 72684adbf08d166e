"""Fixtures of the engine's tests: the tagging test process, contacts, definitions."""

from __future__ import annotations

import pytest

from nightshift.crm.models import Contact
from nightshift.processes.registry import register_temporarily
from nightshift.runs import actions
from nightshift.runs.models import SchedulerState
from tests.runs.tagging import TAG, TagContacts

__all__ = ["TAG", "TagContacts"]


@pytest.fixture
def tag_process():
    with register_temporarily(TagContacts):
        yield TagContacts
    TagContacts.during_batch = None


@pytest.fixture
def contacts(db):
    def make(count: int, *, refused: int = 0) -> list[Contact]:
        start = Contact.objects.count()
        return Contact.objects.bulk_create(
            Contact(
                code=f"C{start + n:06d}",
                first_name=f"Name{n}",
                email=f"refuse{n}@example.com" if n < refused else f"c{n}@example.com",
            )
            for n in range(count)
        )

    return make


@pytest.fixture
def scheduler_running(db):
    SchedulerState.objects.update_or_create(pk=1, defaults={"running": True})


@pytest.fixture
def define(operator, tag_process):
    def make(**fields):
        data = {
            "process_key": TagContacts.key,
            "name": "Tag everyone",
            "schedule": {"mode": "now"},
        }
        data.update(fields)
        return actions.create_definition(user=operator, **data)

    return make
