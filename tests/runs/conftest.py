"""A process made for the engine's tests: it tags contacts (sets their city), refuses the ones
whose e-mail says so, and can run a hook in the middle of a batch (to stop a run, or die)."""

from __future__ import annotations

from collections.abc import Callable

import pydantic
import pytest

from nightshift.crm.models import Contact
from nightshift.processes.base import Outcome, Process
from nightshift.processes.registry import register_temporarily
from nightshift.runs import actions
from nightshift.runs.models import SchedulerState

TAG = "Tagged"


class TagParameters(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    city: str = TAG


class TagContacts(Process):
    key = "tests.tag_contacts"
    name = "Tag contacts"
    description = "Sets the city of contacts that have none."
    Parameters = TagParameters
    model = Contact
    during_batch: Callable[[list[int]], None] | None = None

    def candidates(self, params, *, as_of):
        return Contact.objects.filter(city="").order_by("pk")

    def process_batch(self, params, ids, *, as_of, run_number):
        rows = dict(Contact.objects.filter(pk__in=ids, city="").values_list("pk", "email"))
        good = [pk for pk, email in rows.items() if not email.startswith("refuse")]
        Contact.objects.filter(pk__in=good).update(city=params["city"])
        if TagContacts.during_batch:
            TagContacts.during_batch(ids)
        return [
            Outcome(pk, True)
            if pk in good
            else Outcome(pk, False, "refused: the e-mail asks not to be tagged")
            if pk in rows
            else Outcome(pk, False, "no longer a candidate")
            for pk in ids
        ]


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
