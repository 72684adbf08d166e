"""The base of the account routines (complementary data, status, movement monitoring, class
transition): the audience criterion, contacts as candidates, and the ERP connector."""

from __future__ import annotations

import datetime
from typing import Any, ClassVar

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field

from nightshift.crm.models import Contact
from nightshift.erp.accounts import audience_contacts, check_audience, contact_codes
from nightshift.erp.connectors import ErpConnector, get_connector
from nightshift.processes.base import Outcome, Process

__all__ = ["AccountRoutine", "AudienceParameters"]


class AudienceParameters(BaseModel):
    """The one criterion of the account routines: the audience ("Público")."""

    model_config = ConfigDict(extra="forbid")

    audience: int | str | None = Field(
        title="Audience",
        json_schema_extra={"group": "criteria"},
        default=None,
        description="Only the contacts of this audience (name or id); empty for every contact.",
    )


class AccountRoutine(Process):
    """What the account routines share: the audience criterion, candidates ordered by primary
    key, and the ERP connector, resolved once per run (so a run without ERP integration fails
    before its first batch, when it counts its records)."""

    model = Contact
    # Contacts the routine leaves alone whatever the audience (e.g. rejected ones).
    excluded: ClassVar[dict[str, Any]] = {}

    def __init__(self) -> None:
        self._connector: ErpConnector | None = None

    @classmethod
    def check(cls, params: BaseModel) -> None:
        params.audience = check_audience(params.audience)

    @property
    def connector(self) -> ErpConnector:
        if self._connector is None:
            self._connector = get_connector()
        return self._connector

    def candidates(self, params: dict[str, Any], *, as_of: datetime.date) -> QuerySet:
        return audience_contacts(params.get("audience")).exclude(**self.excluded).order_by("pk")

    def count(self, params: dict[str, Any], *, as_of: datetime.date, after: int) -> int:
        self.connector  # noqa: B018 — no ERP integration: fail before the first batch
        return super().count(params, as_of=as_of, after=after)

    def _batch_codes(
        self, params: dict[str, Any], ids: list[int], *, as_of: datetime.date
    ) -> dict[int, str]:
        return contact_codes(self.candidates(params, as_of=as_of), ids)

    @staticmethod
    def _gone(ids: list[int], found: dict[int, Any]) -> dict[int, Outcome]:
        message = _(
            "The contact is no longer a candidate (deleted, out of the audience, or changed "
            "since the run selected it); it was not processed."
        )
        return {pk: Outcome(pk, ok=False, message=message) for pk in ids if pk not in found}
