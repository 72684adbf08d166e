"""The archive process: old rows of one entity, with their children, into compressed chunks."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import BaseModel, ConfigDict, Field

import nightshift.archiving.entities  # noqa: F401 — the built-in entities are registered
from nightshift.archiving import archiver
from nightshift.archiving.choices import ArchiveState
from nightshift.archiving.models import DEFAULT_MINIMUM_MONTHS, Archive
from nightshift.archiving.registry import all_entities, get_entity
from nightshift.processes.base import Outcome, ParameterError, Process
from nightshift.processes.registry import register

__all__ = ["ArchiveData"]


class ArchiveParameters(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Archive data")

    entity: str = Field(title="Data archiving entity")
    months: int = Field(
        DEFAULT_MINIMUM_MONTHS, ge=1, le=1200, title="Archive data created X months ago"
    )


@register
class ArchiveData(Process):
    """Archive the rows of one entity created more than X months before the run's date.

    Each batch of the engine is one chunk: the parents and their children are serialised,
    compressed, stored, read back and verified, then deleted, all in the batch's transaction
    (``nightshift.archiving.archiver``). One ``Archive`` per run records what went where."""

    key = "archive_data"
    name = gettext_lazy("Data archiving")
    description = gettext_lazy(
        "Compresses the data of one entity created more than X months ago into an archive kept "
        "in the database, with its associated records, and removes it from the live tables; "
        "live records that refer to it become read-only."
    )
    Parameters = ArchiveParameters
    requires_password = True

    @classmethod
    def parameter_schema(cls) -> dict[str, Any]:
        schema = super().parameter_schema()
        # Entities are registered by apps, so the choice is built when it is asked for.
        schema["properties"]["entity"]["enum"] = [entity.key for entity in all_entities()]
        return schema

    @classmethod
    def check(cls, params: ArchiveParameters) -> None:
        errors = {}
        try:
            get_entity(params.entity)
        except LookupError:
            known = ", ".join(entity.key for entity in all_entities())
            errors["entity"] = _("“%(entity)s” cannot be archived; choose one of: %(known)s.") % {
                "entity": params.entity,
                "known": known,
            }
        minimum = archiver.minimum_months()
        if params.months < minimum:
            errors["months"] = _(
                "Data must be at least %(minimum)s months old to be archived (the "
                "organisation's minimum in force); %(months)s is too recent."
            ) % {"minimum": minimum, "months": params.months}
        if errors:
            raise ParameterError(errors)

    @classmethod
    def authorize_submission(cls, *, user: Any, password: str | None) -> None:
        from nightshift.archiving.actions import ARCHIVE, confirm

        confirm(user=user, password=password, permission=ARCHIVE, what=_("submit an archive run"))

    @classmethod
    def run_summary(cls, run: Any) -> dict[str, Any]:
        archive = Archive.objects.filter(run_number=run.pk).first()
        return {
            "archive_id": archive.pk if archive else None,
            "archived": archive.rows if archive else {},
        }

    def candidates(self, params: dict[str, Any], *, as_of: datetime.date) -> QuerySet:
        entity = get_entity(params["entity"])
        return archiver.candidates(entity, archiver.cutoff_for(params["months"], as_of))

    def process_batch(
        self,
        params: dict[str, Any],
        ids: list[int],
        *,
        as_of: datetime.date,
        run_number: int | None,
    ) -> list[Outcome]:
        entity = get_entity(params["entity"])
        archive = archiver.open_archive(
            entity=entity,
            months=params["months"],
            cutoff=archiver.cutoff_for(params["months"], as_of),
            run_number=run_number,
        )
        archived = set(archiver.archive_batch(archive, entity, ids))
        gone = _("No longer a candidate (changed or archived since it was selected).")
        return [
            Outcome(record_id, True) if record_id in archived else Outcome(record_id, False, gone)
            for record_id in ids
        ]

    def complete(
        self, params: dict[str, Any], *, as_of: datetime.date, run_number: int | None
    ) -> None:
        entity = get_entity(params["entity"])
        archive = archiver.open_archive(
            entity=entity,
            months=params["months"],
            cutoff=archiver.cutoff_for(params["months"], as_of),
            run_number=run_number,
        )
        Archive.objects.filter(pk=archive.pk, state=ArchiveState.IN_PROGRESS).update(
            state=ArchiveState.COMPLETED, ended_at=timezone.now()
        )
