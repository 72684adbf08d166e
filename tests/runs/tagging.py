"""A process made for the engine's tests: it tags contacts (sets their city), refuses the ones
whose e-mail says so, and can run a hook in the middle of a batch (to stop a run, or die).

It lives in a module of its own so that the tests and the fixtures share one class."""

from __future__ import annotations

from collections.abc import Callable

import pydantic

from nightshift.crm.models import Contact
from nightshift.processes.base import Outcome, Process

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
