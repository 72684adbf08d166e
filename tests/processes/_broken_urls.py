"""A URLconf with one view that raises: a server exception for the bug detector's tests."""

from __future__ import annotations

from django.urls import path


def broken(request):
    raise RuntimeError("the broken view broke")


urlpatterns = [path("broken/", broken)]
