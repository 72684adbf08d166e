"""Live records that refer to archived data, and the guard that makes them read-only.

A model whose foreign key may point at an archivable record declares, for that key, the two
columns that keep the reference once its target is archived: the archived row's id and the
archive it is in (``archived_references``). While either is set the record is read-only: it can
be viewed and deleted, but every change — ``save()`` from the admin, a form or an action, and
``QuerySet.update()`` — raises ``ArchivedReferenceError``, whose message says why.

This module imports nothing from the archiving app's models so that CRM models can use it.
Archiving and restoring themselves write through ``archive_writes()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext as _

__all__ = [
    "ArchivedReferenceError",
    "ArchivedReferenceQuerySet",
    "ReadOnlyWhenArchived",
    "archive_writes",
    "read_only_q",
]

_archive_writes: ContextVar[bool] = ContextVar("nightshift_archive_writes", default=False)


class ArchivedReferenceError(ValidationError):
    """A change to a record that refers to archived data."""


@contextmanager
def archive_writes() -> Iterator[None]:
    """Let the archiving engine itself set and lift the archived references in the block."""
    token = _archive_writes.set(True)
    try:
        yield
    finally:
        _archive_writes.reset(token)


def read_only_q(model: type[models.Model]) -> Q:
    """The rows of ``model`` that refer to archived data."""
    query = Q()
    for archived_id, _archive in getattr(model, "archived_references", {}).values():
        query |= Q(**{f"{archived_id}__isnull": False})
    return query


def _refusal(model: type[models.Model], pk=None) -> ArchivedReferenceError:
    name = str(model._meta.verbose_name)
    if pk is None:
        message = _(
            "Some of these %(model)s records refer to archived data and are read-only; they can "
            "be viewed and deleted but not changed."
        ) % {"model": name}
    else:
        message = _(
            "%(model)s %(pk)s refers to archived data and is read-only: it can be viewed and "
            "deleted but not changed. Restore the archive to change it."
        ) % {"model": name.capitalize(), "pk": pk}
    return ArchivedReferenceError(message, code="archived_reference")


class ArchivedReferenceQuerySet(models.QuerySet):
    """``update()`` refuses when any row it would change refers to archived data."""

    def update(self, **kwargs):
        if not _archive_writes.get() and self.filter(read_only_q(self.model)).exists():
            raise _refusal(self.model)
        return super().update(**kwargs)


class ReadOnlyWhenArchived:
    """Mixin for models with ``archived_references``: ``{fk name: (archived id field, archive
    field)}``. Put it before the model base so its ``save`` runs first."""

    archived_references: ClassVar[dict[str, tuple[str, str]]] = {}

    @property
    def is_archive_read_only(self) -> bool:
        return any(
            getattr(self, archived_id) is not None
            for archived_id, _archive in self.archived_references.values()
        )

    def archived_reference_details(self) -> list[dict]:
        """Each archived reference: the key, the archived id and the archive holding it."""
        return [
            {"field": fk, "archived_id": getattr(self, ident), "archive": getattr(self, archive)}
            for fk, (ident, archive) in self.archived_references.items()
            if getattr(self, ident) is not None
        ]

    def save(self, *args, **kwargs):
        if (
            not _archive_writes.get()
            and not self._state.adding
            and self.pk is not None
            and type(self)._base_manager.filter(read_only_q(type(self)), pk=self.pk).exists()
        ):
            raise _refusal(type(self), self.pk)
        return super().save(*args, **kwargs)
