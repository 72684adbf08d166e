"""The engine's commands: ``definitions``, ``tasks``, ``runs`` (and ``scheduler``'s --user)."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from nightshift.crm.models import Contact
from nightshift.runs import actions, engine, workers
from nightshift.runs.management.commands import definitions as definitions_command
from nightshift.runs.models import (
    ApplicationServer,
    ProcessRun,
    RunDefinition,
    RunState,
    ScheduledTask,
    SchedulerState,
    TaskState,
)
from nightshift.runs.scheduler import fire_due, fire_task_now
from tests.runs.tagging import TAG, TagContacts

pytestmark = pytest.mark.django_db

WEEKLY = {
    "mode": "advanced",
    "start": "2026-01-05T03:00",
    "timezone": "Europe/Lisbon",
    "repeat": {"weekly": {"weekdays": ["MO", "TH"]}},
}


@pytest.fixture(autouse=True)
def _quiet_heartbeat(monkeypatch):
    # Inline runs here last milliseconds; a heartbeat thread writing meanwhile would only
    # contend for the test database.
    monkeypatch.setattr(workers, "HEARTBEAT_INTERVAL", 3600)


@pytest.fixture
def nightshift(operator, tag_process):
    """``nightshift(*args)``: run a command as the operator and return its stdout; with
    ``--json`` in the arguments, the parsed JSON."""

    def run(*args: str, user: str | None = "olivia"):
        out = io.StringIO()
        extra = ["--user", user] if user else []
        call_command(*args, *extra, stdout=out, stderr=io.StringIO())
        return json.loads(out.getvalue()) if "--json" in args else out.getvalue()

    return run


@pytest.fixture
def created(nightshift):
    def make(*options: str, name: str = "Tag everyone") -> dict:
        return nightshift(
            "definitions", "create", "--process", TagContacts.key, "--name", name, *options,
            "--json",
        )  # fmt: skip

    return make


def refused(nightshift, *args: str, user: str | None = "olivia") -> CommandError:
    with pytest.raises(CommandError) as excinfo:
        nightshift(*args, user=user)
    return excinfo.value


# definitions create / list / show / edit ------------------------------------------------------


def test_create_prints_the_new_definition_as_json(created):
    definition = created("--params", '{"city": "Porto"}', "--log", "all")
    assert definition["code"].startswith("RD")
    assert (definition["version"], definition["process"]) == (1, TagContacts.key)
    assert definition["parameters"] == {"city": "Porto"}
    assert definition["log_level"] == "all"
    assert definition["schedule"]["mode"] == "now"  # the default: run now
    assert definition["created_by"] == "olivia"


def test_create_takes_every_setting(created):
    ApplicationServer.objects.create(name="night")
    throttle = {"max_records": 10, "restart_after": {"every": 1, "unit": "hours"}}
    definition = created(
        "--schedule", json.dumps(WEEKLY), "--throttle", json.dumps(throttle),
        "--server", "night", "--alternative-code", "TAG", "--description", "Tags",
        "--life-cycle", "not_effective", "--no-notify", "--misfire", "skip",
    )  # fmt: skip
    assert definition["throttle"] == throttle
    assert (definition["server"], definition["alternative_code"]) == ("night", "TAG")
    assert (definition["life_cycle"], definition["misfire_policy"]) == ("not_effective", "skip")
    assert definition["notify_on_completion"] is False


def test_create_in_text_says_what_it_created(nightshift):
    out = nightshift("definitions", "create", "--process", TagContacts.key, "--name", "Tag")
    assert "Created run definition RD" in out
    assert "Tag" in out


def test_a_bad_parameter_names_the_field_and_the_option(nightshift, created):
    error = refused(
        nightshift, "definitions", "create", "--process", TagContacts.key, "--name", "x",
        "--params", '{"colour": "red"}',
    )  # fmt: skip
    assert "parameters.colour (--params)" in str(error)


def test_a_bad_schedule_names_the_schedule(nightshift):
    error = refused(
        nightshift, "definitions", "create", "--process", TagContacts.key, "--name", "x",
        "--schedule", '{"mode": "repeat", "every": 0, "unit": "days"}',
    )  # fmt: skip
    assert "schedule (--schedule)" in str(error)
    assert "every" in str(error)


def test_an_unknown_server_names_the_server(nightshift):
    error = refused(
        nightshift, "definitions", "create", "--process", TagContacts.key, "--name", "x",
        "--server", "nowhere",
    )  # fmt: skip
    assert "server (--server)" in str(error)
    assert "nowhere" in str(error)


def test_invalid_json_names_the_option(nightshift):
    error = refused(
        nightshift, "definitions", "create", "--process", TagContacts.key, "--name", "x",
        "--params", "{city",
    )  # fmt: skip
    assert "--params is not valid JSON" in str(error)
    assert not RunDefinition.objects.exists()


def test_acting_needs_a_user(nightshift, monkeypatch):
    monkeypatch.delenv("NIGHTSHIFT_USER", raising=False)
    args = ("definitions", "create", "--process", TagContacts.key, "--name", "x")
    assert "NIGHTSHIFT_USER" in str(refused(nightshift, *args, user=None))
    assert "nobody" in str(refused(nightshift, *args, user="nobody"))


def test_the_user_defaults_to_nightshift_user(nightshift, monkeypatch):
    monkeypatch.setenv("NIGHTSHIFT_USER", "olivia")
    # The option's default is read when the parser is built, i.e. at each call.
    out = nightshift(
        "definitions", "create", "--process", TagContacts.key, "--name", "Env", user=None
    )
    assert "Created run definition" in out
    assert RunDefinition.objects.get().created_by.username == "olivia"


def test_an_outsider_is_refused_with_the_permission_named(nightshift, outsider):
    error = refused(
        nightshift,
        "definitions", "create", "--process", TagContacts.key, "--name", "x",
        user="oscar",
    )  # fmt: skip
    assert "operate_runs" in str(error)


def test_list_filters_and_prints_json(nightshift, created):
    created(name="Alpha")
    created("--life-cycle", "not_effective", name="Beta")
    names = [d["name"] for d in nightshift("definitions", "list", "--json")]
    assert names == ["Beta", "Alpha"]
    assert [d["name"] for d in nightshift("definitions", "list", "-q", "alp", "--json")] == [
        "Alpha"
    ]
    listed = nightshift("definitions", "list", "--life-cycle", "not_effective", "--json")
    assert [d["name"] for d in listed] == ["Beta"]
    assert nightshift("definitions", "list", "--process", "other", "--json") == []
    assert "Alpha" in nightshift("definitions", "list")


def test_edit_of_a_submitted_definition_makes_version_2_and_show_finds_both(
    nightshift, created, operator
):
    code = created("--schedule", json.dumps(WEEKLY))["code"]
    nightshift("definitions", "submit", code)
    edited = nightshift("definitions", "edit", code, "--name", "Renamed", "--json")
    assert (edited["version"], edited["name"]) == (2, "Renamed")
    assert nightshift("definitions", "show", code, "--json")["version"] == 2
    first = nightshift("definitions", "show", code, "--version", "1", "--json")
    assert (first["name"], first["is_latest"]) == ("Tag everyone", False)
    assert re.search(r"^versions: +2, 1$", nightshift("definitions", "show", code), re.M)


def test_edit_errors_name_the_field(nightshift, created):
    code = created()["code"]
    assert "name (--name)" in str(refused(nightshift, "definitions", "edit", code, "--name", ""))
    assert "Nothing to change" in str(refused(nightshift, "definitions", "edit", code))


def test_show_of_an_unknown_definition_names_it(nightshift):
    assert "RD404" in str(refused(nightshift, "definitions", "show", "RD404"))


# definitions submit ---------------------------------------------------------------------------


def test_create_then_submit_inline_runs_on_real_contacts_and_prints_the_summary(
    nightshift, created, contacts
):
    contacts(12, refused=3)
    code = created("--log", "all")["code"]
    summary = nightshift("definitions", "submit", code, "--inline", "--batch-size", "5", "--json")
    assert summary["state"] == "completed_with_errors"
    assert (summary["total"], summary["succeeded"], summary["failed"]) == (12, 9, 3)
    assert summary["process"] == TagContacts.key
    assert summary["started_at"] <= summary["ended_at"]
    assert Contact.objects.filter(city=TAG).count() == 9
    run = ProcessRun.objects.get(pk=summary["number"])
    assert run.task.state == TaskState.COMPLETED
    assert run.requested_by.username == "olivia"


def test_submit_inline_in_text_prints_the_summary_fields(nightshift, created, contacts):
    contacts(3)
    out = nightshift("definitions", "submit", created()["code"], "--inline")
    assert "state:" in out
    assert "completed" in out


def test_submit_inline_works_with_the_scheduler_in_standby(nightshift, created, contacts):
    contacts(2)
    SchedulerState.objects.update_or_create(pk=1, defaults={"running": False})
    assert (
        nightshift("definitions", "submit", created()["code"], "--inline", "--json")["succeeded"]
        == 2
    )


def test_submit_inline_refuses_a_later_first_firing_saying_when(nightshift, created):
    code = created("--schedule", json.dumps(WEEKLY))["code"]
    error = refused(nightshift, "definitions", "submit", code, "--inline")
    assert "scheduled to fire first at 20" in str(error)
    assert "--wait" in str(error)
    assert not ScheduledTask.objects.exists()


def test_a_failed_inline_run_prints_its_summary_and_exits_non_zero(nightshift, created, contacts):
    contacts(3)

    def explode(ids):
        raise RuntimeError("the ERP did not answer")

    TagContacts.during_batch = explode
    out = io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "definitions", "submit", created()["code"], "--inline", "--json", "--user", "olivia",
            stdout=out, stderr=io.StringIO(),
        )  # fmt: skip
    assert excinfo.value.returncode == 1
    assert "failed" in str(excinfo.value)
    assert "the ERP did not answer" in str(excinfo.value)
    assert json.loads(out.getvalue())["state"] == "failed"


def test_a_run_stopped_during_inline_execution_exits_non_zero(
    nightshift, created, contacts, operator
):
    contacts(10)

    def stop(ids):
        actions.stop_run(user=operator, number=ProcessRun.objects.get().pk)

    TagContacts.during_batch = stop
    error = refused(nightshift, "definitions", "submit", created()["code"], "--inline")
    assert error.returncode == 1
    assert "stopped" in str(error)
    assert ProcessRun.objects.get().state == RunState.STOPPED


def test_submit_alone_prints_the_scheduled_task(nightshift, created):
    code = created("--schedule", json.dumps(WEEKLY))["code"]
    task = nightshift("definitions", "submit", code, "--json")
    assert (task["definition"], task["status"]) == (code, "scheduled")
    assert task["next_fire_at"] is not None
    assert "scheduled task #" in nightshift("definitions", "submit", code)


def test_submit_of_a_not_effective_definition_names_the_life_cycle(nightshift, created):
    code = created("--life-cycle", "not_effective")["code"]
    assert "life_cycle (--life-cycle)" in str(refused(nightshift, "definitions", "submit", code))


def test_submit_wait_returns_the_summary_once_scheduler_and_worker_ran_it(
    nightshift, created, contacts, monkeypatch, scheduler_running
):
    contacts(4, refused=1)
    polls = []

    def scheduler_and_worker_meanwhile(seconds):
        # What a scheduler loop and a worker do while the command sleeps between polls.
        polls.append(seconds)
        for run in fire_due():
            with workers.registered(run.server) as worker_id:
                engine.execute(run.pk, worker_id=worker_id)

    monkeypatch.setattr(definitions_command.time, "sleep", scheduler_and_worker_meanwhile)
    summary = nightshift("definitions", "submit", created()["code"], "--wait", "--json")
    assert (summary["state"], summary["succeeded"], summary["failed"]) == (
        "completed_with_errors",
        3,
        1,
    )
    assert polls


def test_submit_wait_gives_up_after_the_timeout_saying_why(nightshift, created, monkeypatch):
    SchedulerState.objects.update_or_create(pk=1, defaults={"running": False})
    monkeypatch.setattr(definitions_command.time, "sleep", lambda seconds: None)
    code = created()["code"]
    error = refused(nightshift, "definitions", "submit", code, "--wait", "--timeout", "0")
    assert "Gave up waiting after 0 seconds" in str(error)
    assert "Standby" in str(error)
    assert ScheduledTask.objects.get().state == TaskState.SCHEDULED


def test_inline_and_wait_exclude_each_other(nightshift, created):
    code = created()["code"]
    with pytest.raises(CommandError):
        nightshift("definitions", "submit", code, "--inline", "--wait")


# tasks ----------------------------------------------------------------------------------------


@pytest.fixture
def submitted(created, operator):
    def make(*options: str) -> ScheduledTask:
        code = created(*options)["code"]
        return actions.submit_definition(user=operator, unified_code=code)

    return make


def test_tasks_list_filters_scheduled_running_and_completed(nightshift, submitted, operator):
    waiting = submitted("--schedule", json.dumps(WEEKLY))
    running = submitted()
    fire_task_now(running)
    completed = submitted()
    actions.stop_run(user=operator, number=fire_task_now(completed).pk)

    def ids(status: str) -> list[int]:
        return [t["id"] for t in nightshift("tasks", "list", "--filter", status, "--json")]

    assert ids("scheduled") == [waiting.pk]
    assert ids("running") == [running.pk]
    assert ids("completed") == [completed.pk]
    assert len(nightshift("tasks", "list", "--json")) == 3
    assert f"{waiting.pk}" in nightshift("tasks", "list")


def test_tasks_delete_unschedules_and_an_unknown_one_is_named(nightshift, submitted):
    task = submitted("--schedule", json.dumps(WEEKLY))
    deleted = nightshift("tasks", "delete", str(task.pk), "--json")
    assert (deleted["status"], deleted["next_fire_at"]) == ("deleted", None)
    assert f"#{task.pk}" in str(refused(nightshift, "tasks", "delete", str(task.pk)))
    assert [t["id"] for t in nightshift("tasks", "list", "--filter", "deleted", "--json")] == [
        task.pk
    ]


# runs -----------------------------------------------------------------------------------------


@pytest.fixture
def ran(nightshift, created, contacts):
    """A run executed inline over 5 contacts, 2 refusing, logging every outcome."""
    contacts(5, refused=2)
    code = created("--log", "all")["code"]
    return nightshift("definitions", "submit", code, "--inline", "--json")


def test_runs_list_filters_by_state_and_process(nightshift, ran, submitted):
    draft = fire_task_now(submitted())
    numbers = [r["number"] for r in nightshift("runs", "list", "--json")]
    assert numbers == [draft.pk, ran["number"]]
    assert [r["number"] for r in nightshift("runs", "list", "--state", "draft", "--json")] == [
        draft.pk
    ]
    by_process = nightshift("runs", "list", "--process", TagContacts.key, "--json")
    assert len(by_process) == 2
    assert nightshift("runs", "list", "--process", "other", "--json") == []
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert nightshift("runs", "list", "--from", tomorrow, "--json") == []
    assert nightshift("runs", "list", "--limit", "1", "--json")[0]["number"] == draft.pk
    assert "completed_with_errors" in nightshift("runs", "list")


def test_runs_list_refuses_a_malformed_day(nightshift):
    with pytest.raises(CommandError):
        nightshift("runs", "list", "--from", "yesterday")


def test_runs_show_prints_the_summary_and_the_items_asked_for(nightshift, ran):
    number = str(ran["number"])
    summary = nightshift("runs", "show", number, "--json")
    assert {"number", "process", "state", "total", "succeeded", "failed", "started_at"} <= set(
        summary
    )
    assert (summary["total"], summary["succeeded"], summary["failed"]) == (5, 3, 2)
    shown = nightshift("runs", "show", number, "--items", "error", "--json")
    assert [item["outcome"] for item in shown["items"]] == ["error", "error"]
    assert len(nightshift("runs", "show", number, "--items", "success", "--json")["items"]) == 3
    assert "refused" in nightshift("runs", "show", number, "--items", "error")


def test_runs_show_of_an_unknown_run_names_it(nightshift):
    assert "#4040" in str(refused(nightshift, "runs", "show", "4040"))


def test_runs_stop_ends_a_draft_run_and_refuses_an_ended_one(nightshift, submitted):
    run = fire_task_now(submitted())
    stopped = nightshift("runs", "stop", str(run.pk), "--json")
    assert stopped["state"] == "stopped"
    assert "already ended" in str(refused(nightshift, "runs", "stop", str(run.pk)))


def test_runs_delete_removes_a_draft_but_not_a_started_run(nightshift, submitted, ran):
    run = fire_task_now(submitted())
    assert f"Deleted run #{run.pk}" in nightshift("runs", "delete", str(run.pk))
    assert not ProcessRun.objects.filter(pk=run.pk).exists()
    error = refused(nightshift, "runs", "delete", str(ran["number"]))
    assert "already started" in str(error)


def test_runs_stop_is_refused_to_an_outsider(nightshift, submitted, outsider):
    run = fire_task_now(submitted())
    assert "operate_runs" in str(refused(nightshift, "runs", "stop", str(run.pk), user="oscar"))


# scheduler --user -----------------------------------------------------------------------------


def test_scheduler_standby_acts_as_the_user_given(nightshift, administrator):
    status = nightshift("scheduler", "standby", "--json", user="ada")
    assert (status["state"], status["changed_by"]) == ("standby", "ada")
    assert "control_scheduler" in str(refused(nightshift, "scheduler", "start"))
    assert "nobody" in str(refused(nightshift, "scheduler", "start", user="nobody"))
