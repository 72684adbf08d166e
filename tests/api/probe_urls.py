"""A probe API configured like the real one, with an endpoint that reports the audit actor."""

from __future__ import annotations

from django.urls import path
from ninja import NinjaAPI

from nightshift.api.auth import API_AUTH
from nightshift.api.urls import configure
from nightshift.core.audit import current_actor

probe = configure(NinjaAPI(urls_namespace="probe", auth=API_AUTH))


@probe.get("/actor")
def actor(request) -> dict:
    current = current_actor()
    return {"actor": current.user.get_username() if current is not None else None}


urlpatterns = [path("probe/", probe.urls)]
