from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from nightshift.core.models import Unit
from nightshift.web.areas import UTILITY_AREAS
from nightshift.web.views import DASHBOARD_APPS
from tests.conftest import PASSWORD

# The dashboard and every Utilities area, served by its app or by a placeholder.
PAGES = ["dashboard", *(area.slug for area in UTILITY_AREAS)]


def page_url(page: str) -> str:
    if page == "dashboard":
        return reverse("web:dashboard")
    return next(area.url() for area in UTILITY_AREAS if area.slug == page)


def displayed_count(html: str, label: str) -> int:
    """The number the dashboard shows beside ``label``."""
    match = re.search(
        rf'<th scope="row">(?:<a [^>]*>)?{re.escape(label)}(?:</a>)?</th>\s*'
        r'<td class="number" data-count>(\d+)</td>',
        html,
    )
    assert match, f"no count shown for {label!r}"
    return int(match.group(1))


@pytest.mark.parametrize("page", PAGES)
def test_page_redirects_anonymous_visitor_to_login(client: Client, db, page: str):
    url = page_url(page)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"


def test_login_page_renders_sign_in_form_for_anonymous_visitor(client: Client, db):
    response = client.get("/login/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<form method="post" action="/login/"' in html
    assert 'name="password"' in html
    assert "Main navigation" not in html  # the menu is for signed-in users only


def test_healthz_answers_without_login(client: Client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_operator_signing_in_lands_on_dashboard(client: Client, operator):
    response = client.post("/login/", {"username": "olivia", "password": PASSWORD}, follow=True)
    assert response.redirect_chain == [(reverse("web:dashboard"), 302)]
    assert "<h1>Dashboard</h1>" in response.content.decode()


def test_wrong_password_keeps_visitor_on_login_page_with_error(client: Client, operator):
    response = client.post("/login/", {"username": "olivia", "password": "wrong"})
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert client.get(reverse("web:dashboard")).status_code == 302


def test_logout_is_a_post_form_that_signs_the_user_out(signed_in: Client):
    html = signed_in.get(reverse("web:dashboard")).content.decode()
    assert re.search(
        r'<form action="/logout/" method="post">\s*<input type="hidden" '
        r'name="csrfmiddlewaretoken"',
        html,
    )
    assert signed_in.get("/logout/").status_code == 405  # a link must not sign anyone out
    response = signed_in.post("/logout/")
    assert response["Location"] == reverse("login")
    assert signed_in.get(reverse("web:dashboard")).status_code == 302


def test_layout_shows_signed_in_user(signed_in: Client):
    html = signed_in.get(reverse("web:dashboard")).content.decode()
    assert "Signed in as <strong>olivia</strong>" in html


def test_dashboard_count_rises_when_a_record_is_added(signed_in: Client, unit):
    before = displayed_count(signed_in.get(reverse("web:dashboard")).content.decode(), "Units")
    Unit.objects.create(code="BR", name="Branch")
    after = displayed_count(signed_in.get(reverse("web:dashboard")).content.decode(), "Units")
    assert after == before + 1


def test_dashboard_lists_managed_models_of_crm_mail_and_core_but_not_unmanaged(
    signed_in: Client,
):
    response = signed_in.get(reverse("web:dashboard"))
    shown = {record.label for app in response.context["apps"] for record in app.records}
    models = [m for label in DASHBOARD_APPS for m in apps.get_app_config(label).get_models()]
    assert shown == {str(m._meta.verbose_name_plural) for m in models if m._meta.managed}
    assert "capabilitys" not in shown  # core.Capability only holds permissions, no table


def test_dashboard_runs_one_count_query_per_model(signed_in: Client):
    managed = [
        model
        for label in DASHBOARD_APPS
        for model in apps.get_app_config(label).get_models()
        if model._meta.managed
    ]
    with CaptureQueriesContext(connection) as queries:
        signed_in.get(reverse("web:dashboard"))
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == len(managed)
    # Session, user, the user's permissions (two, for the navigation), the blocking
    # notifications check, the open notifications panel: little else.
    assert len(queries.captured_queries) <= len(managed) + 7


@pytest.mark.parametrize("area", UTILITY_AREAS, ids=lambda area: area.slug)
def test_every_area_is_served_by_its_app_to_users_with_its_permission(
    client: Client, administrator, outsider, area
):
    client.force_login(administrator)
    assert client.get(area.url()).status_code == 200
    client.force_login(outsider)
    assert not area.is_open_to(outsider)
    assert client.get(area.url()).status_code == 403


def test_navigation_links_every_open_area_and_highlights_the_current_one(
    signed_in: Client, operator
):
    html = signed_in.get(page_url("board")).content.decode()
    assert f'href="{page_url("dashboard")}"' in html
    for area in UTILITY_AREAS:
        if area.is_open_to(operator):
            assert f'href="{area.url()}"' in html
    active = re.findall(r'<a href="([^"]+)" class="is-active" aria-current="page">', html)
    assert active == [page_url("board")]


def test_admin_link_is_shown_to_staff_only(client: Client, operator, administrator):
    client.force_login(operator)
    assert 'href="/admin/"' not in client.get(reverse("web:dashboard")).content.decode()
    client.force_login(administrator)
    assert 'href="/admin/"' in client.get(reverse("web:dashboard")).content.decode()


def test_static_stylesheet_and_htmx_are_served_locally(signed_in: Client):
    html = signed_in.get(reverse("web:dashboard")).content.decode()
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert len(assets) == 2
    assert not re.search(r'(?:href|src)="(?:https?:)?//', html)  # no CDN: the host is offline


def test_the_navigation_offers_only_the_areas_the_user_may_open(
    client: Client, operator, administrator
):
    client.force_login(operator)
    html = client.get(reverse("web:dashboard")).content.decode()
    for area in UTILITY_AREAS:
        assert (f'href="{area.url()}"' in html) == area.is_open_to(operator), area.slug
    # Operators do not manage mailboxes or archives; administrators do.
    assert not next(a for a in UTILITY_AREAS if a.slug == "mailboxes").is_open_to(operator)
    client.force_login(administrator)
    html = client.get(reverse("web:dashboard")).content.decode()
    for area in UTILITY_AREAS:
        assert f'href="{area.url()}"' in html, area.slug
