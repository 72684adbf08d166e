"""The project's URLs plus the token pages at the place the project will mount them."""

from __future__ import annotations

from django.urls import include, path

from nightshift.api.urls import token_urlpatterns
from nightshift.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("account/tokens/", include(token_urlpatterns)),
    *project_urlpatterns,
]
