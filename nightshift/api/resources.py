"""Publish a model as read endpoints: a paginated, filterable listing and a detail.

One call per model instead of two hand-written views each::

    publish_model(router, "units", model=Unit, schema=UnitOut, filters=UnitFilter,
                  select_related=["parent"])

gives ``GET /units`` (``page``, ``page_size`` and the filter's query parameters; answers
``{count, page, page_size, items}``) and ``GET /units/{id}``. Both require the caller to hold
the model's Django ``view_<model>`` permission and answer 403 otherwise.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from django.contrib.auth import get_permission_codename
from django.db import models
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from ninja import Field, FilterSchema, Query, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination, paginate

DEFAULT_PAGE_SIZE = 50  # a screenful; scripts that want more ask for it
MAX_PAGE_SIZE = 500  # bounds the memory and time of one request whatever the caller asks


class Pagination(PageNumberPagination):
    """Page-number pagination whose answer also says which page it is and how big pages are,
    so a client that asked for more than ``MAX_PAGE_SIZE`` can see it was capped."""

    class Input(Schema):
        page: int = Field(1, ge=1, description="Page number, from 1.")
        page_size: int = Field(
            DEFAULT_PAGE_SIZE,
            ge=1,
            description=f"Items per page; larger values are capped at {MAX_PAGE_SIZE}.",
        )

    class Output(Schema):
        count: int = Field(description="Items matching the filters, on all pages.")
        page: int
        page_size: int
        items: list[Any]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(page_size=DEFAULT_PAGE_SIZE, max_page_size=MAX_PAGE_SIZE, **kwargs)

    def paginate_queryset(
        self, queryset: models.QuerySet, pagination: Input, request: HttpRequest, **params: Any
    ) -> dict[str, Any]:
        page_size = self._get_page_size(pagination.page_size)
        offset = (pagination.page - 1) * page_size
        return {
            "count": self._items_count(queryset),
            "page": pagination.page,
            "page_size": page_size,
            "items": queryset[offset : offset + page_size],
        }


def view_permission(model: type[models.Model]) -> str:
    opts = model._meta
    return f"{opts.app_label}.{get_permission_codename('view', opts)}"


def require_view_permission(request: HttpRequest, model: type[models.Model]) -> None:
    """Refuse with 403 unless the caller may read ``model``; the detail names the permission
    so that an administrator knows what to grant."""
    permission = view_permission(model)
    if not request.auth.has_perm(permission):
        raise HttpError(
            403,
            _("You do not have the “%(permission)s” permission needed to read %(records)s.")
            % {"permission": permission, "records": model._meta.verbose_name_plural},
        )


def publish_model(
    router: Router,
    path: str,
    *,
    model: type[models.Model],
    schema: type[Schema],
    filters: type[FilterSchema] | None = None,
    detail_schema: type[Schema] | None = None,
    select_related: Sequence[str] = (),
    prefetch_related: Sequence[str] = (),
    ordering: Sequence[str] = (),
    queryset: Callable[[HttpRequest], models.QuerySet] | None = None,
    detail: bool = True,
    tags: list[str] | None = None,
) -> None:
    """Add ``GET /<path>`` (paginated, filtered listing) and ``GET /<path>/{id}`` to ``router``.

    ``select_related``/``prefetch_related`` must cover every relation the schemas read: a page
    then costs a fixed number of queries whatever its size. ``ordering`` defaults to the model's
    own, then to the primary key, because page-number pagination over an unordered query can
    repeat or skip rows between pages. ``queryset`` narrows what the caller may see (it gets the
    request); by default every row of the model is listed.
    """
    opts = model._meta
    tags = tags or [capfirst(str(opts.verbose_name_plural))]

    def base_queryset(request: HttpRequest) -> models.QuerySet:
        rows = queryset(request) if queryset is not None else model._default_manager.all()
        if select_related:
            rows = rows.select_related(*select_related)
        if prefetch_related:
            rows = rows.prefetch_related(*prefetch_related)
        if ordering:
            rows = rows.order_by(*ordering)
        elif not rows.ordered:
            rows = rows.order_by("pk")
        return rows

    def list_view(request: HttpRequest, filters: FilterSchema | None = None) -> models.QuerySet:
        require_view_permission(request, model)
        rows = base_queryset(request)
        return filters.filter(rows) if filters is not None else rows

    def detail_view(request: HttpRequest, id: int) -> models.Model:
        require_view_permission(request, model)
        return get_object_or_404(base_queryset(request), pk=id)

    # Ninja reads parameters from the signature; the filter class is only known at call time,
    # so the signature is written out instead of annotated in the source.
    request_param = inspect.Parameter(
        "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=HttpRequest
    )
    list_params = [request_param]
    if filters is not None:
        list_params.append(
            inspect.Parameter("filters", inspect.Parameter.KEYWORD_ONLY, annotation=Query[filters])
        )
    list_view.__signature__ = inspect.Signature(list_params)
    list_view.__name__ = list_view.__qualname__ = f"list_{opts.model_name}"
    router.get(
        f"/{path}",
        response=list[schema],
        operation_id=f"list_{opts.model_name}",
        summary=f"List {opts.verbose_name_plural}",
        tags=tags,
    )(paginate(Pagination)(list_view))

    if not detail:
        return
    detail_view.__signature__ = inspect.Signature(
        [
            request_param,
            inspect.Parameter("id", inspect.Parameter.KEYWORD_ONLY, annotation=int),
        ]
    )
    detail_view.__name__ = detail_view.__qualname__ = f"get_{opts.model_name}"
    router.get(
        f"/{path}/{{id}}",
        response=detail_schema or schema,
        operation_id=f"get_{opts.model_name}",
        summary=f"Get one {opts.verbose_name}",
        tags=tags,
    )(detail_view)
