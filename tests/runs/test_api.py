"""The run engine's REST API: definitions and versions, scheduled tasks, runs and their items,
the scheduler, the automatic agenda, the daily log and the schedule preview."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from nightshift.api.actions import create_token
from nightshift.runs import actions, engine
from nightshift.runs.models import (
    AgendaEntry,
    ApplicationServer,
    LogEntry,
    ProcessRun,
    ScheduledTask,
    SchedulerState,
    TaskState,
)
from nightshift.runs.scheduler import fire_task_now
from nightshift.runs.workers import registered

pytestmark = pytest.mark.django_db

API = "/api/v1"
WEEKLY = {
    "mode": "advanced",
    "start": "2026-01-05T03:00",
    "timezone": "Europe/Lisbon",
    "repeat": {"weekly": {"weekdays": ["MO", "TH"]}},
}


@pytest.fixture
def call(client):
    """``call(user, "get", "/runs", body)``: the API as ``user``, with one token per user."""
    secrets: dict[int, str] = {}

    def request(user, method: str, path: str, body=None):
        if user.pk not in secrets:
            secrets[user.pk] = create_token(user=user, name="tests")[1]
        kwargs = {"headers": {"Authorization": f"Bearer {secrets[user.pk]}"}}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(client, method)(f"{API}{path}", **kwargs)

    return request


@pytest.fixture
def submit(define, operator):
    def make(**fields) -> ScheduledTask:
        definition = define(**fields)
        return actions.submit_definition(user=operator, unified_code=definition.unified_code)

    return make


@pytest.fixture
def draft(submit):
    """A run fired from a "run now" task, not started by any worker."""

    def make(**fields) -> ProcessRun:
        return fire_task_now(submit(**fields))

    return make


@pytest.fixture
def finished(draft, contacts):
    """A run executed to its end over 5 contacts, 2 of which refuse to be tagged."""

    def make(**fields) -> ProcessRun:
        contacts(5, refused=2)
        run = draft(log_level="all", **fields)
        with registered(ApplicationServer.default()) as worker_id:
            return engine.execute(run.pk, worker_id=worker_id)

    return make


def errors(response) -> dict[str, str]:
    assert response.status_code == 422, response.content
    return response.json()["errors"]


# Run definitions ------------------------------------------------------------------------------


def test_creating_a_definition_answers_201_with_version_1(call, operator, tag_process):
    response = call(
        operator,
        "post",
        "/run-definitions",
        {"process": tag_process.key, "name": "Tag", "schedule": WEEKLY, "server": "default"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["code"].startswith("RD")
    assert (body["version"], body["name"], body["process"]) == (1, "Tag", tag_process.key)
    assert body["server"] == "default"
    assert body["created_by"] == "olivia"


def test_creating_without_a_name_is_a_422_naming_the_name(call, operator, tag_process):
    response = call(
        operator, "post", "/run-definitions", {"process": tag_process.key, "schedule": WEEKLY}
    )
    assert "name" in errors(response)
    assert "name" in response.json()["detail"]


def test_a_bad_parameter_is_a_422_naming_the_parameter(call, operator, tag_process):
    body = {"process": tag_process.key, "name": "x", "schedule": WEEKLY, "parameters": {"c": 1}}
    assert set(errors(call(operator, "post", "/run-definitions", body))) == {"parameters.c"}


def test_an_unknown_process_is_a_422_naming_the_process(call, operator, tag_process):
    body = {"process": "no.such", "name": "x", "schedule": WEEKLY}
    assert "no.such" in errors(call(operator, "post", "/run-definitions", body))["process"]


def test_an_outsider_cannot_create_definitions(call, outsider, tag_process):
    body = {"process": tag_process.key, "name": "x", "schedule": WEEKLY}
    response = call(outsider, "post", "/run-definitions", body)
    assert response.status_code == 403
    assert "operate_runs" in response.json()["detail"]


def test_the_listing_shows_latest_versions_paginated(call, define, operator, submit):
    definition = define(name="Versioned")
    actions.submit_definition(user=operator, unified_code=definition.unified_code)
    actions.edit_definition(user=operator, unified_code=definition.unified_code, name="V2")
    define(name="Other")
    body = call(operator, "get", "/run-definitions?page_size=1").json()
    assert (body["count"], body["page_size"], len(body["items"])) == (2, 1, 1)
    listed = call(operator, "get", "/run-definitions").json()["items"]
    assert sorted((d["name"], d["version"]) for d in listed) == [("Other", 1), ("V2", 2)]


def test_the_listing_filters_by_process_life_cycle_and_text(call, define, operator):
    define(name="Alpha", alternative_code="ALPHA")
    define(name="Beta", life_cycle="not_effective")

    def names(query: str) -> list[str]:
        return [
            d["name"] for d in call(operator, "get", f"/run-definitions?{query}").json()["items"]
        ]

    assert names("q=alp") == ["Alpha"]
    assert names("life_cycle=not_effective") == ["Beta"]
    assert names("process=tests.tag_contacts") == ["Beta", "Alpha"]
    assert names("process=other") == []


def test_the_listing_is_refused_to_an_outsider(call, outsider):
    assert call(outsider, "get", "/run-definitions").status_code == 403


def test_a_definition_shows_its_latest_version_or_the_one_asked_for(call, define, operator):
    definition = define(name="First")
    actions.submit_definition(user=operator, unified_code=definition.unified_code)
    actions.edit_definition(user=operator, unified_code=definition.unified_code, name="Second")
    path = f"/run-definitions/{definition.unified_code}"
    assert call(operator, "get", path).json()["name"] == "Second"
    first = call(operator, "get", f"{path}?version=1").json()
    assert (first["name"], first["is_latest"]) == ("First", False)
    assert first["scheduled_date"] is not None


def test_an_unknown_definition_is_a_404_naming_the_code(call, operator):
    response = call(operator, "get", "/run-definitions/RD999999")
    assert response.status_code == 404
    assert "RD999999" in response.json()["detail"]


def test_an_unknown_version_is_a_404_naming_the_version(call, define, operator):
    code = define().unified_code
    response = call(operator, "get", f"/run-definitions/{code}?version=9")
    assert response.status_code == 404
    assert "9" in response.json()["detail"]


def test_the_versions_are_listed_newest_first(call, define, operator):
    code = define().unified_code
    actions.submit_definition(user=operator, unified_code=code)
    actions.edit_definition(user=operator, unified_code=code, name="Second")
    versions = call(operator, "get", f"/run-definitions/{code}/versions").json()
    assert [v["version"] for v in versions] == [2, 1]
    assert call(operator, "get", "/run-definitions/RD0/versions").status_code == 404


def test_patching_a_used_definition_answers_the_new_version(call, define, operator):
    code = define(parameters={"city": "Porto"}).unified_code
    actions.submit_definition(user=operator, unified_code=code)
    response = call(operator, "patch", f"/run-definitions/{code}", {"name": "Renamed"})
    assert response.status_code == 200
    body = response.json()
    assert (body["version"], body["name"], body["parameters"]) == (2, "Renamed", {"city": "Porto"})


def test_patching_can_remove_the_throttle_with_null(call, define, operator):
    throttle = {"max_records": 5, "restart_after": {"every": 1, "unit": "hours"}}
    code = define(schedule=WEEKLY, throttle=throttle).unified_code
    body = call(operator, "patch", f"/run-definitions/{code}", {"throttle": None}).json()
    assert body["throttle"] is None
    assert body["schedule"]["mode"] == "advanced"


def test_a_bad_patch_is_a_422_naming_the_field(call, define, operator):
    code = define().unified_code
    response = call(operator, "patch", f"/run-definitions/{code}", {"server": "nowhere"})
    assert "nowhere" in errors(response)["server"]
    assert "throttle" in errors(
        call(operator, "patch", f"/run-definitions/{code}", {"throttle": {"max_records": 1}})
    )


def test_a_misspelt_field_is_a_422_naming_it(call, define, operator):
    code = define().unified_code
    response = call(operator, "patch", f"/run-definitions/{code}", {"nmae": "x"})
    assert response.status_code == 422
    assert "nmae" in response.content.decode()


def test_patching_an_unknown_definition_is_a_404(call, operator, tag_process):
    assert call(operator, "patch", "/run-definitions/RD0", {"name": "x"}).status_code == 404


def test_submitting_answers_201_with_the_scheduled_task(call, define, operator):
    code = define(schedule=WEEKLY).unified_code
    response = call(operator, "post", f"/run-definitions/{code}/submit")
    assert response.status_code == 201
    task = response.json()
    assert (task["definition"], task["version"], task["status"]) == (code, 1, "scheduled")
    assert task["server"] == "default"
    assert task["requested_by"] == "olivia"
    assert task["next_fire_at"] is not None


def test_submitting_a_not_effective_definition_is_a_422_naming_the_life_cycle(
    call, define, operator
):
    code = define(life_cycle="not_effective").unified_code
    assert "life_cycle" in errors(call(operator, "post", f"/run-definitions/{code}/submit"))


def test_submitting_is_refused_to_an_outsider(call, define, outsider):
    code = define().unified_code
    assert call(outsider, "post", f"/run-definitions/{code}/submit").status_code == 403
    assert call(outsider, "post", "/run-definitions/RD0/submit").status_code == 403


def test_submitting_an_unknown_definition_is_a_404(call, operator):
    assert call(operator, "post", "/run-definitions/RD0/submit").status_code == 404


# Scheduled tasks ------------------------------------------------------------------------------


def test_the_task_filter_tells_scheduled_running_completed_and_deleted(call, submit, operator):
    waiting = submit(schedule=WEEKLY)
    running = submit()
    fire_task_now(running)  # a draft run: the task is running
    completed = submit()
    run = fire_task_now(completed)
    actions.stop_run(user=operator, number=run.pk)  # ended: the task has nothing left
    deleted = submit(schedule=WEEKLY)
    actions.delete_task(user=operator, task_id=deleted.pk)

    def ids(state: str) -> list[int]:
        listed = call(operator, "get", f"/scheduled-tasks?state={state}").json()["items"]
        assert all(task["status"] == state for task in listed)
        return [task["id"] for task in listed]

    assert ids("scheduled") == [waiting.pk]
    assert ids("running") == [running.pk]
    assert ids("completed") == [completed.pk]
    assert ids("deleted") == [deleted.pk]
    assert call(operator, "get", "/scheduled-tasks").json()["count"] == 4


def test_an_unknown_task_state_is_a_422(call, operator):
    assert call(operator, "get", "/scheduled-tasks?state=sleeping").status_code == 422


def test_a_running_task_names_its_run(call, draft, operator):
    run = draft()
    task = call(operator, "get", f"/scheduled-tasks/{run.task_id}").json()
    assert (task["status"], task["active_run"]) == ("running", run.pk)


def test_deleting_a_task_unschedules_it(call, submit, operator):
    task = submit(schedule=WEEKLY)
    response = call(operator, "delete", f"/scheduled-tasks/{task.pk}")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["next_fire_at"]) == ("deleted", None)
    again = call(operator, "delete", f"/scheduled-tasks/{task.pk}")
    assert again.status_code == 404
    assert f"#{task.pk}" in again.json()["detail"]


def test_an_outsider_cannot_list_or_delete_tasks(call, submit, outsider):
    task = submit(schedule=WEEKLY)
    assert call(outsider, "get", "/scheduled-tasks").status_code == 403
    assert call(outsider, "delete", f"/scheduled-tasks/{task.pk}").status_code == 403
    task.refresh_from_db()
    assert task.state == TaskState.SCHEDULED


# Runs -----------------------------------------------------------------------------------------


def test_a_run_shows_its_summary(call, finished, operator):
    run = finished()
    body = call(operator, "get", f"/runs/{run.pk}").json()
    assert body["number"] == run.pk
    assert body["state"] == "completed_with_errors"
    assert (body["total"], body["succeeded"], body["failed"]) == (5, 3, 2)
    assert body["process"] == "tests.tag_contacts"
    assert body["started_at"] is not None
    assert body["ended_at"] is not None


def test_an_unknown_run_is_a_404_naming_its_number(call, operator):
    response = call(operator, "get", "/runs/424242")
    assert response.status_code == 404
    assert "#424242" in response.json()["detail"]


def test_the_items_of_a_run_filter_by_outcome(call, finished, operator):
    run = finished()
    path = f"/runs/{run.pk}/items"
    assert call(operator, "get", path).json()["count"] == 5
    errors_ = call(operator, "get", f"{path}?outcome=error").json()["items"]
    assert [item["outcome"] for item in errors_] == ["error", "error"]
    assert all("refused" in item["message"] for item in errors_)
    assert call(operator, "get", f"{path}?outcome=success&page_size=2").json()["count"] == 3
    assert call(operator, "get", "/runs/424242/items").status_code == 404


def test_runs_filter_by_process_state_server_and_creation_day(call, draft, operator):
    ApplicationServer.objects.create(name="night")
    first = draft()
    second = draft(server="night")
    actions.stop_run(user=operator, number=second.pk)

    def numbers(query: str) -> list[int]:
        return [r["number"] for r in call(operator, "get", f"/runs?{query}").json()["items"]]

    today = timezone.localdate()
    assert numbers("") == [second.pk, first.pk]
    assert numbers("state=stopped") == [second.pk]
    assert numbers("server=night") == [second.pk]
    assert numbers("process=tests.tag_contacts") == [second.pk, first.pk]
    assert numbers("process=other") == []
    assert numbers(f"created_from={today}&created_to={today}") == [second.pk, first.pk]
    assert numbers(f"created_from={today + timedelta(days=1)}") == []
    assert numbers(f"created_to={today - timedelta(days=1)}") == []


def test_runs_are_refused_to_an_outsider(call, draft, outsider):
    run = draft()
    assert call(outsider, "get", "/runs").status_code == 403
    assert call(outsider, "get", f"/runs/{run.pk}").status_code == 403
    assert call(outsider, "get", f"/runs/{run.pk}/items").status_code == 403
    assert call(outsider, "post", f"/runs/{run.pk}/stop").status_code == 403
    assert call(outsider, "delete", f"/runs/{run.pk}").status_code == 403


def test_stopping_a_draft_run_ends_it_stopped(call, draft, operator):
    run = draft()
    response = call(operator, "post", f"/runs/{run.pk}/stop")
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["stop_requested"]) == ("stopped", True)


def test_stopping_an_ended_run_is_a_409_saying_so(call, finished, operator):
    run = finished()
    response = call(operator, "post", f"/runs/{run.pk}/stop")
    assert response.status_code == 409
    assert "already ended" in response.json()["detail"]


def test_deleting_a_draft_run_answers_204(call, draft, operator):
    run = draft()
    assert call(operator, "delete", f"/runs/{run.pk}").status_code == 204
    assert not ProcessRun.objects.filter(pk=run.pk).exists()
    assert call(operator, "delete", f"/runs/{run.pk}").status_code == 404


def test_deleting_a_started_run_is_a_409(call, finished, operator):
    run = finished()
    response = call(operator, "delete", f"/runs/{run.pk}")
    assert response.status_code == 409
    assert "already started" in response.json()["detail"]
    assert ProcessRun.objects.filter(pk=run.pk).exists()


# Scheduler, agenda, daily log -----------------------------------------------------------------


def test_the_scheduler_state_is_readable_by_operators(call, operator, submit):
    submit()
    with registered(ApplicationServer.default()):
        body = call(operator, "get", "/scheduler").json()
    assert body["state"] == "running"
    assert (body["scheduled_tasks"], body["due_now"]) == (1, 1)
    assert [worker["server"] for worker in body["workers"]] == ["default"]


def test_an_administrator_puts_the_scheduler_in_standby_and_starts_it(call, administrator):
    response = call(administrator, "post", "/scheduler/standby")
    assert (response.status_code, response.json()["state"]) == (200, "standby")
    assert response.json()["changed_by"] == "ada"
    assert not SchedulerState.get().running
    assert call(administrator, "post", "/scheduler/start").json()["state"] == "running"


def test_an_operator_cannot_switch_the_scheduler(call, operator):
    response = call(operator, "post", "/scheduler/standby")
    assert response.status_code == 403
    assert "control_scheduler" in response.json()["detail"]
    assert call(operator, "get", "/scheduler").status_code == 200


def test_the_scheduler_is_hidden_from_an_outsider(call, outsider):
    assert call(outsider, "get", "/scheduler").status_code == 403


def test_the_agenda_is_set_listed_and_removed(call, administrator, operator, tag_process):
    path = f"/agenda/{tag_process.key}"
    response = call(administrator, "put", path, {"schedule": WEEKLY})
    assert response.status_code == 200
    assert (response.json()["process"], response.json()["updated_by"]) == (tag_process.key, "ada")
    listed = call(operator, "get", "/agenda").json()
    # Other processes' default entries (installed apps' migrations) may be listed too.
    mine = [entry for entry in listed if entry["process"] == tag_process.key]
    assert [entry["schedule"]["mode"] for entry in mine] == ["advanced"]
    assert call(administrator, "delete", path).status_code == 204
    assert not AgendaEntry.objects.filter(process_key=tag_process.key).exists()
    missing = call(administrator, "delete", path)
    assert missing.status_code == 404
    assert tag_process.key in missing.json()["detail"]


def test_a_bad_agenda_schedule_is_a_422_naming_the_schedule(call, administrator, tag_process):
    body = {"schedule": {"mode": "repeat", "every": 0, "unit": "days"}}
    assert (
        "every"
        in errors(call(administrator, "put", f"/agenda/{tag_process.key}", body))["schedule"]
    )
    assert "process" in errors(call(administrator, "put", "/agenda/no.such", {"schedule": WEEKLY}))


def test_only_administrators_change_the_agenda(call, operator, outsider, tag_process):
    path = f"/agenda/{tag_process.key}"
    assert call(operator, "put", path, {"schedule": WEEKLY}).status_code == 403
    assert call(operator, "delete", path).status_code == 403
    assert call(outsider, "get", "/agenda").status_code == 403


def test_the_daily_log_shows_a_day_filtered_by_source_and_level(call, operator, submit):
    submit()
    LogEntry.objects.create(
        source=LogEntry.Source.SCHEDULER, level=LogEntry.Level.WARNING, message="late"
    )
    LogEntry.objects.create(
        source=LogEntry.Source.SCHEDULER,
        message="yesterday",
        at=timezone.now() - timedelta(days=1),
    )
    today = timezone.localdate()

    def messages(query: str) -> list[str]:
        return [e["message"] for e in call(operator, "get", f"/daily-log?{query}").json()["items"]]

    assert messages(f"day={today}&source=scheduler") == ["late"]
    assert messages("level=warning") == ["late"]
    assert len(messages("source=operator")) == 2  # created, submitted
    assert messages(f"day={today - timedelta(days=1)}") == ["yesterday"]
    assert call(operator, "get", "/daily-log?day=someday").status_code == 422


def test_the_daily_log_is_refused_to_an_outsider(call, outsider):
    assert call(outsider, "get", "/daily-log").status_code == 403


# Schedule preview -----------------------------------------------------------------------------


def test_the_preview_lists_the_next_firings(call, operator):
    body = {"schedule": WEEKLY, "n": 3, "from": "2026-03-01T00:00:00+00:00"}
    response = call(operator, "post", "/schedule/preview", body)
    assert response.status_code == 200
    assert response.json() == {
        "timezone": "Europe/Lisbon",
        "firings": ["2026-03-02T03:00:00Z", "2026-03-05T03:00:00Z", "2026-03-09T03:00:00Z"],
    }


def test_a_bad_schedule_preview_is_a_422_naming_the_field(call, operator):
    body = {"schedule": {"mode": "advanced", "start": "2026-01-01T03:00", "repeat": {}}}
    response = call(operator, "post", "/schedule/preview", body)
    assert "repeat" in errors(response)["schedule"]
    assert "n" in errors(call(operator, "post", "/schedule/preview", {"schedule": WEEKLY, "n": 0}))


def test_the_preview_is_refused_to_an_outsider(call, outsider):
    assert call(outsider, "post", "/schedule/preview", {"schedule": WEEKLY}).status_code == 403


# OpenAPI --------------------------------------------------------------------------------------


def test_the_openapi_document_describes_the_engine_endpoints(client):
    schema = client.get(f"{API}/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/api/v1/run-definitions",
        "/api/v1/run-definitions/{code}/submit",
        "/api/v1/scheduled-tasks/{task_id}",
        "/api/v1/runs/{number}/items",
        "/api/v1/scheduler/standby",
        "/api/v1/agenda/{process}",
        "/api/v1/daily-log",
        "/api/v1/schedule/preview",
    ):
        assert path in paths
    assert "422" in paths["/api/v1/run-definitions"]["post"]["responses"]
    operation_ids = [op["operationId"] for item in paths.values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))
