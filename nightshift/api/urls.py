"""The REST API (mounted at /api/v1/ by the project) and the token pages' URLs."""

from __future__ import annotations

from functools import partial

from django.urls import path
from ninja import NinjaAPI
from ninja.errors import AuthenticationError

from nightshift.alerts import api as alerts_api
from nightshift.api import crm, organization, views
from nightshift.api.auth import API_AUTH, act_as_caller, unauthorized
from nightshift.archiving import api as archiving_api
from nightshift.exports import api as exports_api
from nightshift.imports import api as imports_api
from nightshift.processes import api as processes_api
from nightshift.runs import api as runs_api


def configure(api: NinjaAPI) -> NinjaAPI:
    """The behaviour every Nightshift API shares: explicit 401s, and the caller as the actor.
    A function so that tests can build a probe API that behaves the same."""
    api.add_exception_handler(AuthenticationError, partial(unauthorized, api=api))
    api.add_decorator(act_as_caller)
    return api


api = configure(
    NinjaAPI(
        title="Nightshift API",
        version="1",
        description=(
            "Read access to the Nightshift back office. Authenticate with a personal API token "
            "(`Authorization: Bearer <token>`) or, from this page, with your signed-in session. "
            "Listings are paginated (`page`, `page_size` up to 500) and answer "
            "`{count, page, page_size, items}`."
        ),
        docs_url="/docs",
        auth=API_AUTH,
    )
)
api.add_router("", organization.router)
api.add_router("", crm.router)
api.add_router("", processes_api.router)
api.add_router("", runs_api.router)
api.add_router("", alerts_api.router)
api.add_router("", archiving_api.router)
api.add_router("", imports_api.router)
api.add_router("", exports_api.router)

# Included by the project under /account/tokens/.
token_urlpatterns = [
    path("", views.token_list, name="api_tokens"),
    path("<int:token_id>/revoke/", views.token_revoke, name="api_token_revoke"),
]
