from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from nightshift.api.resources import MAX_PAGE_SIZE
from nightshift.core.models import Team, Unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def many_units(unit) -> int:
    # A list, not a generator: AuditedQuerySet.bulk_create iterates its argument twice.
    Unit.objects.bulk_create(
        [
            Unit(code=f"U{number:04}", name=f"Branch {number:04}", parent=unit)
            for number in range(1, 521)
        ]
    )
    return 521  # with the head office


def test_listing_is_refused_with_403_without_the_view_permission(client, outsider, bearer):
    response = client.get("/api/v1/units", headers=bearer(outsider))
    assert response.status_code == 403
    assert "core.view_unit" in response.json()["detail"]


def test_operators_read_units_and_teams(client, operator, bearer):
    assert client.get("/api/v1/teams", headers=bearer(operator)).status_code == 200
    assert client.get("/api/v1/units", headers=bearer(operator)).status_code == 200


def test_users_without_the_view_permission_are_refused_teams(client, outsider, bearer):
    response = client.get("/api/v1/teams", headers=bearer(outsider))
    assert response.status_code == 403
    assert "core.view_team" in response.json()["detail"]


def test_administrator_lists_units(client, administrator, bearer):
    response = client.get("/api/v1/units", headers=bearer(administrator))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["items"] == [
        {
            "id": Unit.objects.get().pk,
            "code": "HQ",
            "name": "Head office",
            "parent": None,
            "created_at": body["items"][0]["created_at"],
            "updated_at": body["items"][0]["updated_at"],
        }
    ]


def test_listing_counts_all_matches_and_serves_the_requested_page(
    client, administrator, bearer, many_units
):
    response = client.get("/api/v1/units?page=2&page_size=10", headers=bearer(administrator))
    body = response.json()
    assert body["count"] == many_units
    assert body["page"] == 2
    assert body["page_size"] == 10
    # Units are ordered by name: "Branch 0001" … then "Head office" last.
    assert [item["code"] for item in body["items"]] == [f"U{n:04}" for n in range(11, 21)]


def test_page_size_is_capped(client, administrator, bearer, many_units):
    response = client.get("/api/v1/units?page_size=10000", headers=bearer(administrator))
    body = response.json()
    assert body["page_size"] == MAX_PAGE_SIZE
    assert len(body["items"]) == MAX_PAGE_SIZE


def test_page_past_the_end_is_empty_but_still_counts(client, administrator, bearer):
    body = client.get("/api/v1/units?page=9", headers=bearer(administrator)).json()
    assert body["count"] == 1
    assert body["items"] == []


def test_invalid_page_is_a_422_naming_the_parameter(client, administrator, bearer):
    response = client.get("/api/v1/units?page=0", headers=bearer(administrator))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "page"]


def test_units_filter_by_code_parent_and_search(client, administrator, bearer, many_units):
    headers = bearer(administrator)

    def codes(query: str) -> list[str]:
        body = client.get(f"/api/v1/units?{query}", headers=headers).json()
        return [item["code"] for item in body["items"]]

    assert codes("code=u0007") == ["U0007"]
    assert codes("search=branch 051") == [f"U{n:04}" for n in range(510, 520)]
    assert len(codes("parent=HQ&page_size=500")) == 500
    assert codes("parent=NOPE") == []


def test_teams_show_unit_leader_and_members_and_filter_by_member(
    client, administrator, operator, outsider, bearer
):
    unit = Unit.objects.get(code="HQ")
    parc = Team.objects.create(code="PARC", name="PARC visits", unit=unit, leader=operator)
    parc.members.add(operator, outsider)
    Team.objects.create(code="DESK", name="Help desk", unit=unit)
    headers = bearer(administrator)

    body = client.get("/api/v1/teams?member=oscar", headers=headers).json()
    assert body["count"] == 1
    team = body["items"][0]
    assert team["code"] == "PARC"
    assert team["unit"] == {"id": unit.pk, "code": "HQ", "name": "Head office"}
    assert team["leader"]["username"] == "olivia"
    assert sorted(member["username"] for member in team["members"]) == ["olivia", "oscar"]


def test_team_listing_costs_the_same_queries_for_many_teams(
    client, administrator, operator, unit, bearer
):
    headers = bearer(administrator)

    def queries_for_listing() -> int:
        client.get("/api/v1/teams", headers=headers)  # warm: token last-used write
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/teams", headers=headers).status_code == 200
        return len(queries)

    Team.objects.create(code="T0", name="Team 0", unit=unit, leader=operator).members.add(operator)
    few = queries_for_listing()
    for number in range(1, 30):
        team = Team.objects.create(
            code=f"T{number}", name=f"Team {number}", unit=unit, leader=operator
        )
        team.members.add(operator, administrator)
    assert queries_for_listing() == few
    # token + user perms (2) + count + page + members prefetch, with a little slack for the
    # session machinery.
    assert few <= 7


def test_detail_returns_one_record_or_404(client, administrator, unit, bearer):
    headers = bearer(administrator)
    response = client.get(f"/api/v1/units/{unit.pk}", headers=headers)
    assert response.status_code == 200
    assert response.json()["code"] == "HQ"
    missing = client.get(f"/api/v1/units/{unit.pk + 1000}", headers=headers)
    assert missing.status_code == 404
    assert "detail" in missing.json()


def test_detail_is_refused_with_403_without_the_view_permission(client, outsider, unit, bearer):
    assert client.get(f"/api/v1/units/{unit.pk}", headers=bearer(outsider)).status_code == 403


def test_openapi_document_lists_the_endpoints_and_token_security(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert {"/api/v1/units", "/api/v1/units/{id}", "/api/v1/teams", "/api/v1/me"} <= set(
        document["paths"]
    )
    schemes = document["components"]["securitySchemes"]
    assert any(scheme.get("scheme") == "bearer" for scheme in schemes.values())
    parameters = {p["name"] for p in document["paths"]["/api/v1/units"]["get"]["parameters"]}
    assert {"page", "page_size", "code", "search"} <= parameters


def test_docs_page_is_served(client):
    assert client.get("/api/v1/docs").status_code == 200
