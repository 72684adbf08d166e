"""Who is acting: the user (and their unit) stamped on every record's log information.

The web middleware, the CLI's ``--user`` option and task bodies set the actor for the work they
run; models read it when they save. Nothing here touches the request or the command line, so
actions behave the same whichever door they were called through.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


@dataclass
class Actor:
    """A user acting now. The unit is looked up once, on first use."""

    user: AbstractBaseUser
    _unit_id: int | None = field(default=None, init=False)
    _unit_loaded: bool = field(default=False, init=False)

    @property
    def user_id(self) -> int:
        return self.user.pk

    @property
    def unit_id(self) -> int | None:
        if not self._unit_loaded:
            from nightshift.core.models import UserProfile

            self._unit_id = (
                UserProfile.objects.filter(user_id=self.user.pk)
                .values_list("unit_id", flat=True)
                .first()
            )
            self._unit_loaded = True
        return self._unit_id


_current: ContextVar[Actor | None] = ContextVar("nightshift_actor", default=None)


def current_actor() -> Actor | None:
    return _current.get()


@contextmanager
def acting_as(user: AbstractBaseUser | None) -> Iterator[Actor | None]:
    """Run the block as ``user`` (``None`` = the system itself, no user stamped)."""
    actor = Actor(user) if user is not None and user.is_authenticated else None
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def stamp(values: dict, *, creating: bool) -> dict:
    """Fill the audit columns of ``values`` for a bulk insert or update, from the actor."""
    from django.utils import timezone

    actor = current_actor()
    now = timezone.now()
    values.setdefault("updated_at", now)
    if actor is not None:
        values.setdefault("updated_by_id", actor.user_id)
        values.setdefault("updated_by_unit_id", actor.unit_id)
    if creating:
        values.setdefault("created_at", now)
        if actor is not None:
            values.setdefault("created_by_id", actor.user_id)
            values.setdefault("created_by_unit_id", actor.unit_id)
    return values
