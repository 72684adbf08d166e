"""The imports REST API: the wizard's steps for scripts, from upload to the error file."""

from __future__ import annotations

import io
import json

import pytest

from nightshift.api.actions import create_token
from nightshift.crm.models import Contact
from nightshift.runs.models import ProcessRun, RunState, ScheduledTask
from nightshift.runs.scheduler import fire_task_now
from tests.imports.conftest import execute
from tests.imports.files import csv_bytes, read_sheet

API = "/api/v1"
CONTENT = csv_bytes(
    [["Code", "First name", "E-mail"], ["C1", "Ana", "ana@example.com"], ["C2", "Bia", "bad"]]
)


@pytest.fixture
def api(client):
    """``api(user).get(path)`` / ``.post(path, json=… or files)``: the API with a token."""

    def as_user(user):
        secret = create_token(user=user, name="tests")[1]
        headers = {"Authorization": f"Bearer {secret}"}

        class Caller:
            def get(self, path, **params):
                return client.get(f"{API}{path}", params, headers=headers)

            def post(self, path, body=None, **multipart):
                if multipart:
                    return client.post(f"{API}{path}", multipart, headers=headers)
                return client.post(
                    f"{API}{path}",
                    json.dumps(body),
                    content_type="application/json",
                    headers=headers,
                )

        return Caller()

    return as_user


def _upload(caller, content=CONTENT, name="people.csv"):
    file = io.BytesIO(content)
    file.name = name
    return caller.post("/imports/uploads", file=file, entity="contacts")


def test_the_wizard_over_the_api_from_upload_to_error_file(api, operator, scheduler_running):
    caller = api(operator)
    uploaded = _upload(caller)
    assert uploaded.status_code == 201
    upload = uploaded.json()
    assert upload["layout"]["format"] == "csv"
    assert upload["problem"] == ""
    mapping = caller.get(f"/imports/uploads/{upload['id']}/mapping", entity="contacts").json()
    assert mapping["columns"] == ["Code", "First name", "E-mail"]
    assert mapping["mapping"] == {"code": "Code", "first_name": "First name", "email": "E-mail"}
    assert mapping["rows"][0] == ["C1", "Ana", "ana@example.com"]
    body = {"entity": "contacts", "upload": upload["id"]}
    preview = caller.post("/imports/preview", body).json()
    assert [(r["row"], r["action"]) for r in preview["rows"]] == [(2, "create"), (3, "reject")]
    started = caller.post("/imports", {**body, "name": "People"})
    assert started.status_code == 201
    run = fire_task_now(ScheduledTask.objects.get(pk=started.json()["task"]))
    execute(run)
    status = caller.get(f"/imports/runs/{run.pk}").json()
    assert (status["import_state"], status["created"], status["rejected"]) == ("completed", 1, 1)
    error_file = caller.get(f"/imports/runs/{run.pk}/error-file")
    assert error_file.status_code == 200
    assert b"".join(error_file.streaming_content).decode().splitlines()[1].startswith("C2,Bia,bad,")
    assert Contact.objects.get().code == "C1"


def test_an_unreadable_upload_is_kept_with_its_problem_and_its_import_fails(
    api, operator, scheduler_running
):
    caller = api(operator)
    upload = _upload(caller, b"%PDF-1.4 nope", "scan.pdf").json()
    assert "not a CSV file or a spreadsheet" in upload["problem"]
    started = caller.post("/imports", {"entity": "contacts", "upload": upload["id"]}).json()
    run = execute(fire_task_now(ScheduledTask.objects.get(pk=started["task"])))
    assert run.state == RunState.FAILED
    assert caller.get(f"/imports/runs/{run.pk}").json()["import_state"] == "failed"


def test_bad_parameters_are_answered_field_by_field(api, operator):
    caller = api(operator)
    upload = _upload(caller).json()
    answer = caller.post(
        "/imports", {"entity": "contacts", "upload": upload["id"], "mapping": {"nope": "Code"}}
    )
    assert answer.status_code == 422
    assert "nope" in answer.json()["errors"]["mapping.nope"]


def test_an_outsider_may_not_upload(api, outsider):
    assert _upload(api(outsider)).status_code == 403


def test_entities_and_templates(api, operator):
    caller = api(operator)
    entities = {e["key"]: e for e in caller.get("/imports/entities").json()}
    assert set(entities) == {
        "contacts",
        "devices",
        "leads",
        "payment_gateway_requests",
        "products",
        "reward_participants",
        "reward_scheme_codes",
        "vouchers",
    }
    assert entities["reward_participants"]["match"] == ["scheme", "contact"]
    template = caller.get("/imports/templates/vouchers", format="xlsx")
    sheet = read_sheet(template.content)
    assert sheet[0][:3] == ["Code", "Value", "Currency"]
    assert sheet[1][0] == "V-2026-0001"


def test_the_status_of_a_run_that_is_not_an_import_is_404(api, operator):
    assert api(operator).get("/imports/runs/999").status_code == 404
    assert not ProcessRun.objects.exists()
