"""Exports over the REST API: exporters, start, status, download, refusals."""

from __future__ import annotations

import json

import pytest

from nightshift.api.actions import create_token
from nightshift.runs.models import RunState
from tests.exports.conftest import read_csv, run_to_end

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def call(client):
    secrets: dict[int, str] = {}

    def request(user, method: str, path: str, body=None):
        if user.pk not in secrets:
            secrets[user.pk] = create_token(user=user, name="tests")[1]
        kwargs = {"headers": {"Authorization": f"Bearer {secrets[user.pk]}"}}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(client, method)(f"{API}{path}", **kwargs)

    return request


def test_the_exporters_are_listed_with_columns_and_filters(call, operator):
    response = call(operator, "get", "/exports/entities")
    assert response.status_code == 200
    contacts = {e["key"]: e for e in response.json()}["contacts"]
    assert {"name": "code", "label": "Code", "kind": "text"} in contacts["columns"]
    status = {f["name"]: f for f in contacts["filters"]}["status"]
    assert status["kind"] == "choice"
    assert "active" in status["choices"]


def test_one_exporter_and_an_unknown_one(call, operator):
    assert call(operator, "get", "/exports/entities/vouchers").json()["key"] == "vouchers"
    missing = call(operator, "get", "/exports/entities/planets")
    assert missing.status_code == 404
    assert "contacts" in missing.json()["detail"]


def test_start_follow_and_download_an_export(call, operator, crm):
    response = call(
        operator,
        "post",
        "/exports",
        {"entity": "contacts", "filters": {"status": "active"}, "columns": ["code", "email"]},
    )
    assert response.status_code == 201, response.content
    started = response.json()
    number = started["run"]["number"]
    assert started["run"]["file"] is None
    assert started["task"]["id"]
    from nightshift.runs.models import ProcessRun

    run_to_end(ProcessRun.objects.get(pk=number))
    status = call(operator, "get", f"/exports/{number}").json()
    assert status["state"] == RunState.COMPLETED
    assert status["entity"] == "contacts"
    assert status["file"]["rows"] == 1
    download = call(operator, "get", f"/exports/{number}/file")
    assert download.status_code == 200
    assert download["Content-Disposition"] == f'attachment; filename="{status["file"]["name"]}"'
    assert status["file"]["url"].endswith(f"/exports/{number}/file")
    rows = read_csv(b"".join(download.streaming_content))
    assert rows == [["Code", "E-mail"], ["ALICE", "alice@example.com"]]
    listing = call(operator, "get", "/exports?entity=contacts").json()
    assert [item["number"] for item in listing["items"]] == [number]


def test_a_bad_filter_is_a_422_naming_the_field(call, operator):
    response = call(operator, "post", "/exports", {"entity": "contacts", "filters": {"x": 1}})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert "status" in errors["parameters.filters.x"]


def test_the_file_of_a_run_not_finished_is_a_404_saying_so(call, operator, crm):
    number = call(operator, "post", "/exports", {"entity": "vouchers"}).json()["run"]["number"]
    response = call(operator, "get", f"/exports/{number}/file")
    assert response.status_code == 404
    assert "no file yet" in response.json()["detail"]


def test_an_outsider_can_neither_start_nor_read(call, outsider):
    assert call(outsider, "post", "/exports", {"entity": "contacts"}).status_code == 403
    assert call(outsider, "get", "/exports").status_code == 403
    assert call(outsider, "get", "/exports/1/file").status_code == 403
