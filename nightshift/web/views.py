"""The UI shell's own pages: the dashboard, the placeholders of the Utilities areas, and the
health check. Each domain's pages live in its app."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import NoReverseMatch, reverse

# The apps whose records the dashboard counts, in the order it shows them.
DASHBOARD_APPS = ("crm", "mail", "core")


@dataclass(frozen=True)
class RecordCount:
    label: str
    count: int
    admin_url: str | None


@dataclass(frozen=True)
class AppRecordCounts:
    label: str
    records: list[RecordCount]


def _admin_url(model: type[Model], user: AbstractBaseUser | AnonymousUser) -> str | None:
    opts = model._meta
    if not (user.is_staff and admin.site.is_registered(model)):
        return None
    if not user.has_perm(f"{opts.app_label}.{get_permission_codename('view', opts)}"):
        return None
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    except NoReverseMatch:
        return None


def record_counts(user: AbstractBaseUser | AnonymousUser) -> list[AppRecordCounts]:
    """How many records each model of ``DASHBOARD_APPS`` holds: one COUNT per model.

    The models are discovered, not listed, so a model added to one of these apps shows up
    without touching the web app; unmanaged models have no table of their own to count.
    """
    result = []
    for label in DASHBOARD_APPS:
        try:
            config = apps.get_app_config(label)
        except LookupError:
            continue
        records = [
            RecordCount(
                label=str(model._meta.verbose_name_plural),
                count=model._default_manager.count(),
                admin_url=_admin_url(model, user),
            )
            for model in config.get_models()
            if model._meta.managed
        ]
        if records:
            result.append(AppRecordCounts(label=str(config.verbose_name), records=records))
    return result


@functools.cache
def dashboard_panels() -> tuple[str, ...]:
    """The ``<app label>/dashboard_panel.html`` templates of the installed apps, in app order:
    an app adds a panel to the dashboard by shipping one, without touching this app."""
    panels = []
    for config in apps.get_app_configs():
        name = f"{config.label}/dashboard_panel.html"
        try:
            get_template(name)
        except TemplateDoesNotExist:
            continue
        panels.append(name)
    return tuple(panels)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/dashboard.html",
        {"apps": record_counts(request.user), "panels": dashboard_panels()},
    )


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and `make run`: the database answers a query (else 503),
    and the heartbeats of the scheduler and of the workers are recent (else "degraded")."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception as exc:  # any failure means unhealthy; say which
        database = f"error: {exc.__class__.__name__}"
    if database != "ok":
        return JsonResponse({"status": "error", "database": database}, status=503)
    from nightshift.runs.health import heartbeats

    report = {"database": database, **heartbeats()}
    fine = report["scheduler"]["status"] in ("ok", "standby") and report["workers"]["alive"] > 0
    return JsonResponse({"status": "ok" if fine else "degraded", **report})
