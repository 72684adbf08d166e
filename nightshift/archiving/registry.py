"""The archivable entities: what a run of each archives, and what goes with it.

An entity names a parent model (the rows selected by age), the child models archived and
deleted with each parent, the column whose age decides (the cut-off field), an optional
narrowing (the kind of customer event, ended runs only) and the live referrers: foreign keys
from records that stay when their target is archived (they keep the archived id and archive and
become read-only, see ``nightshift.archiving.references``).

Apps add entities with ``register_entity``; keys are stored in run definitions and archives, so
never rename one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import Q
from django.utils.functional import Promise

__all__ = [
    "Child",
    "Entity",
    "Referrer",
    "all_entities",
    "get_entity",
    "register_entity",
    "register_entity_temporarily",
]


@dataclass(frozen=True)
class Child:
    """Rows of ``model`` whose foreign key ``fk`` points at an archived parent."""

    model: str  # "app_label.ModelName"
    fk: str

    @property
    def model_class(self) -> type[models.Model]:
        return apps.get_model(self.model)


@dataclass(frozen=True)
class Referrer:
    """A live record's foreign key ``fk`` to the parent model; the model declares the columns
    keeping the reference in ``archived_references[fk]``."""

    model: str
    fk: str

    @property
    def model_class(self) -> type[models.Model]:
        return apps.get_model(self.model)

    @property
    def columns(self) -> tuple[str, str]:
        """(archived id field, archive field) as the referring model declares them."""
        return self.model_class.archived_references[self.fk]


@dataclass(frozen=True)
class Entity:
    key: str
    label: str | Promise
    model: str
    date_field: str
    children: tuple[Child, ...] = ()
    referrers: tuple[Referrer, ...] = ()
    # Field lookups narrowing the parent rows beyond their age (a kind of event, ended runs).
    narrowing: dict = field(default_factory=dict)

    @property
    def model_class(self) -> type[models.Model]:
        return apps.get_model(self.model)

    def parents(self) -> models.QuerySet:
        """Every row of this entity, whatever its age (the base manager: no default filter)."""
        return self.model_class._base_manager.filter(Q(**self.narrowing))

    def models(self) -> list[type[models.Model]]:
        """The parent model, then each child model, in the order a chunk stores them."""
        return [self.model_class, *(child.model_class for child in self.children)]


_entities: dict[str, Entity] = {}


def register_entity(entity: Entity) -> Entity:
    """Make ``entity`` archivable under ``entity.key``; a second, different entity with the
    same key fails at import time."""
    existing = _entities.get(entity.key)
    if existing is not None and existing != entity:
        raise ImproperlyConfigured(f"Archiving entity {entity.key!r} is already registered.")
    _entities[entity.key] = entity
    return entity


def get_entity(key: str) -> Entity:
    try:
        return _entities[key]
    except KeyError:
        known = ", ".join(sorted(_entities))
        raise LookupError(f"No archiving entity {key!r}. Known entities: {known}.") from None


def all_entities() -> list[Entity]:
    return [_entities[key] for key in sorted(_entities)]


@contextmanager
def register_entity_temporarily(entity: Entity) -> Iterator[Entity]:
    previous = _entities.pop(entity.key, None)
    try:
        yield register_entity(entity)
    finally:
        _entities.pop(entity.key, None)
        if previous is not None:
            _entities[entity.key] = previous
