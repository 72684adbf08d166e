"""Schemas shared by several endpoints: short references to related records."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from ninja import Schema


class CodeRef(Schema):
    """A related record named by its code (units, teams, products, types…)."""

    id: int
    code: str
    name: str


class UserRef(Schema):
    id: int
    username: str
    full_name: str

    @staticmethod
    def resolve_full_name(user: AbstractUser) -> str:
        return user.get_full_name()
