"""The organization over the API: units, teams, and who the caller is."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from django.http import HttpRequest
from ninja import FilterLookup, FilterSchema, Router, Schema

from nightshift.api.resources import publish_model
from nightshift.api.schemas import CodeRef, UserRef
from nightshift.core.models import Team, Unit

router = Router(tags=["Organization"])


class UnitOut(Schema):
    id: int
    code: str
    name: str
    parent: CodeRef | None
    created_at: datetime
    updated_at: datetime


class UnitFilter(FilterSchema):
    code: Annotated[str | None, FilterLookup("code__iexact")] = None
    parent: Annotated[str | None, FilterLookup("parent__code__iexact")] = None
    search: Annotated[str | None, FilterLookup(["name__icontains", "code__icontains"])] = None


class TeamOut(Schema):
    id: int
    code: str
    name: str
    unit: CodeRef
    leader: UserRef | None
    members: list[UserRef]
    created_at: datetime
    updated_at: datetime


class TeamFilter(FilterSchema):
    code: Annotated[str | None, FilterLookup("code__iexact")] = None
    unit: Annotated[str | None, FilterLookup("unit__code__iexact")] = None
    member: Annotated[str | None, FilterLookup("members__username")] = None
    search: Annotated[str | None, FilterLookup(["name__icontains", "code__icontains"])] = None


class MeOut(Schema):
    id: int
    username: str
    first_name: str
    last_name: str
    email: str
    is_staff: bool
    is_superuser: bool
    unit: CodeRef | None
    groups: list[str]
    teams: list[CodeRef]
    authenticated_by: Literal["token", "session"]


publish_model(
    router,
    "units",
    model=Unit,
    schema=UnitOut,
    filters=UnitFilter,
    select_related=["parent"],
    tags=["Organization"],
)
publish_model(
    router,
    "teams",
    model=Team,
    schema=TeamOut,
    filters=TeamFilter,
    select_related=["unit", "leader"],
    prefetch_related=["members"],
    tags=["Organization"],
)


@router.get("/me", response=MeOut, operation_id="get_me", summary="The calling user")
def me(request: HttpRequest) -> dict:
    """Who the API sees: useful to check a token, and for a client to adapt to its permissions."""
    user = request.auth
    profile = getattr(user, "profile", None)
    return {
        "id": user.pk,
        "username": user.get_username(),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "unit": profile.unit if profile is not None else None,
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "teams": list(user.teams.order_by("name")),
        "authenticated_by": "token" if hasattr(request, "api_token") else "session",
    }
