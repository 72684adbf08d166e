from __future__ import annotations

from django.urls import path

from nightshift.web import views
from nightshift.web.areas import PLACEHOLDER_AREAS

app_name = "web"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    *(
        path(f"{area.slug}/", views.utility_area, {"slug": area.slug}, name=area.slug)
        for area in PLACEHOLDER_AREAS
    ),
]
