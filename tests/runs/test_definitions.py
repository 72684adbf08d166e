"""Run definitions: validation naming the field, versioning, submission and the agenda."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from nightshift.runs import actions
from nightshift.runs.models import (
    ApplicationServer,
    LogEntry,
    ProcessRun,
    RunDefinition,
    ScheduledTask,
    TaskState,
)
from nightshift.scheduling.specs import parse_schedule
from tests.runs.tagging import TagContacts

WEEKLY = {
    "mode": "advanced",
    "start": "2026-01-05T03:00",
    "timezone": "Europe/Lisbon",
    "repeat": {"weekly": {"weekdays": ["MO", "TH"]}},
}
THROTTLE = {"max_records": 500, "restart_after": {"every": 10, "unit": "minutes"}}


def errors_of(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


def test_a_new_definition_is_version_1_of_its_own_unified_code(define):
    first, second = define(name="First"), define(name="Second")
    assert (first.version, second.version) == (1, 1)
    assert first.unified_code.startswith("RD")
    assert first.unified_code != second.unified_code
    assert first.is_latest
    assert first.is_effective


def test_the_name_is_required(define):
    with pytest.raises(ValidationError) as excinfo:
        define(name="   ")
    assert "name" in errors_of(excinfo)


def test_an_unknown_process_is_refused_naming_the_process(operator, tag_process):
    with pytest.raises(ValidationError) as excinfo:
        actions.create_definition(
            user=operator, process_key="no.such", name="x", schedule={"mode": "now"}
        )
    assert "no.such" in errors_of(excinfo)["process"][0]


def test_parameter_errors_are_reported_under_their_parameter(define):
    with pytest.raises(ValidationError) as excinfo:
        define(parameters={"city": 12, "colour": "red"})
    errors = errors_of(excinfo)
    assert set(errors) == {"parameters.city", "parameters.colour"}


def test_the_process_conditional_rules_name_the_criterion(operator):
    # The STD process: binding periods are allowed only when the binding state is "in binding".
    with pytest.raises(ValidationError) as excinfo:
        actions.create_definition(
            user=operator,
            process_key="subscriptions.leave_short_term_deactivation",
            name="STD",
            parameters={"binding_state": "any", "binding_periods": ["P12"]},
            schedule={"mode": "now"},
        )
    assert "parameters.binding_periods" in errors_of(excinfo)


def test_a_bad_schedule_is_refused_naming_the_schedule_field(define):
    with pytest.raises(ValidationError) as excinfo:
        define(schedule={"mode": "advanced", "start": "2026-01-01T03:00", "repeat": {}})
    assert "repeat" in errors_of(excinfo)["schedule"][0]


def test_the_schedule_is_stored_normalised_with_its_time_zone(define, settings):
    definition = define(schedule={"mode": "once", "at": "2030-01-01T03:00"})
    assert definition.schedule["timezone"] == settings.TIME_ZONE
    assert parse_schedule(definition.schedule).mode == "once"


def test_throttling_is_refused_on_a_schedule_that_runs_once(define):
    with pytest.raises(ValidationError) as excinfo:
        define(schedule={"mode": "now"}, throttle=THROTTLE)
    assert "repeating" in errors_of(excinfo)["throttle"][0]


def test_throttling_on_a_repeating_schedule_is_kept(define):
    definition = define(schedule=WEEKLY, throttle=THROTTLE)
    assert definition.throttle == THROTTLE


def test_a_throttle_without_a_positive_cap_names_the_setting(define):
    with pytest.raises(ValidationError) as excinfo:
        define(schedule=WEEKLY, throttle={**THROTTLE, "max_records": 0})
    assert errors_of(excinfo)["throttle"][0].startswith("max_records")


def test_an_unknown_application_server_is_refused(define):
    with pytest.raises(ValidationError) as excinfo:
        define(server="nowhere")
    assert "nowhere" in errors_of(excinfo)["server"][0]


def test_a_named_application_server_is_kept(define):
    ApplicationServer.objects.create(name="night")
    assert define(server="night").server.name == "night"


def test_an_outsider_cannot_create_definitions(make_user, tag_process):
    outsider = make_user("otto")
    with pytest.raises(PermissionDenied):
        actions.create_definition(
            user=outsider, process_key=TagContacts.key, name="x", schedule={"mode": "now"}
        )


def test_editing_an_unused_definition_changes_it_in_place(define, operator):
    definition = define()
    edited = actions.edit_definition(
        user=operator, unified_code=definition.unified_code, name="Renamed"
    )
    assert edited.pk == definition.pk
    assert edited.version == 1
    assert edited.name == "Renamed"
    assert RunDefinition.objects.filter(unified_code=definition.unified_code).count() == 1


def test_editing_a_submitted_definition_makes_version_2_and_keeps_version_1(define, operator):
    definition = define(parameters={"city": "Lisbon"}, log_level="all")
    actions.submit_definition(user=operator, unified_code=definition.unified_code)
    edited = actions.edit_definition(
        user=operator, unified_code=definition.unified_code, name="Renamed"
    )
    assert edited.version == 2
    assert edited.is_latest
    # Everything not changed is carried over.
    assert edited.parameters == {"city": "Lisbon"}
    assert edited.log_level == "all"
    definition.refresh_from_db()
    assert definition.name == "Tag everyone"
    assert not definition.is_latest
    assert list(edited.versions().values_list("version", flat=True)) == [2, 1]


def test_an_edit_is_validated_like_a_creation(define, operator):
    definition = define()
    with pytest.raises(ValidationError) as excinfo:
        actions.edit_definition(user=operator, unified_code=definition.unified_code, name="")
    assert "name" in errors_of(excinfo)
    definition.refresh_from_db()
    assert definition.name == "Tag everyone"


def test_fields_that_are_not_editable_are_refused(define, operator):
    definition = define()
    with pytest.raises(ValidationError) as excinfo:
        actions.edit_definition(user=operator, unified_code=definition.unified_code, version=7)
    assert "version" in errors_of(excinfo)


def test_submitting_makes_a_scheduled_task_on_the_default_server(define, operator):
    definition = define(schedule=WEEKLY)
    task = actions.submit_definition(user=operator, unified_code=definition.unified_code)
    assert task.state == TaskState.SCHEDULED
    assert task.server == ApplicationServer.default()
    assert task.next_fire_at > timezone.now()
    assert task.next_fire_at.astimezone(timezone.get_default_timezone()).weekday() in (0, 3)
    assert definition.scheduled_date() == task.next_fire_at
    assert LogEntry.objects.filter(task=task, source=LogEntry.Source.OPERATOR).exists()


def test_a_run_now_submission_is_due_at_once(define, operator):
    task = actions.submit_definition(user=operator, unified_code=define().unified_code)
    assert task.next_fire_at <= timezone.now()


def test_only_effective_definitions_can_be_submitted(define, operator):
    definition = define(life_cycle="not_effective")
    with pytest.raises(ValidationError) as excinfo:
        actions.submit_definition(user=operator, unified_code=definition.unified_code)
    assert "life_cycle" in errors_of(excinfo)
    assert not ScheduledTask.objects.exists()


def test_a_schedule_whose_only_firing_is_past_cannot_be_submitted(define, operator):
    past = (timezone.localtime() - timedelta(days=1)).replace(tzinfo=None).isoformat()
    definition = define(schedule={"mode": "once", "at": past})
    with pytest.raises(ValidationError) as excinfo:
        actions.submit_definition(user=operator, unified_code=definition.unified_code)
    assert "past" in errors_of(excinfo)["schedule"][0]


def test_a_definition_following_the_agenda_fires_on_the_agenda_schedule(
    define, operator, administrator
):
    with pytest.raises(ValidationError) as excinfo:
        define(follow_agenda=True, schedule={})
    assert "follow_agenda" in errors_of(excinfo)
    actions.set_agenda(user=administrator, process_key=TagContacts.key, schedule=WEEKLY)
    definition = define(follow_agenda=True, schedule={})
    task = actions.submit_definition(user=operator, unified_code=definition.unified_code)
    assert task.schedule["repeat"]["weekly"]["weekdays"] == ["MO", "TH"]


def test_a_process_default_agenda_applies_until_an_administrator_sets_an_entry(
    define, operator, administrator, monkeypatch
):
    hourly = {"mode": "repeat", "every": 1, "unit": "hours", "start": {"at": "2026-01-05T03:00"}}
    monkeypatch.setattr(TagContacts, "default_agenda", hourly)
    assert actions.agenda_schedule(TagContacts.key) == hourly
    definition = define(follow_agenda=True, schedule={})
    task = actions.submit_definition(user=operator, unified_code=definition.unified_code)
    assert (task.schedule["every"], task.schedule["unit"]) == (1, "hours")

    actions.set_agenda(user=administrator, process_key=TagContacts.key, schedule=WEEKLY)
    assert actions.agenda_schedule(TagContacts.key)["repeat"]["weekly"]["weekdays"] == [
        "MO",
        "TH",
    ]
    actions.set_agenda(user=administrator, process_key=TagContacts.key, schedule=None)
    assert actions.agenda_schedule(TagContacts.key) == hourly


def test_only_scheduler_controllers_set_the_agenda(operator, tag_process):
    with pytest.raises(PermissionDenied):
        actions.set_agenda(user=operator, process_key=TagContacts.key, schedule=WEEKLY)


def test_deleting_a_task_unschedules_it_and_drops_its_runs_not_started(
    define, operator, scheduler_running
):
    from nightshift.runs.scheduler import fire_due

    task = actions.submit_definition(user=operator, unified_code=define().unified_code)
    (run,) = fire_due()
    actions.delete_task(user=operator, task_id=task.pk)
    task.refresh_from_db()
    assert task.state == TaskState.DELETED
    assert task.next_fire_at is None
    assert not ProcessRun.objects.filter(pk=run.pk).exists()
    with pytest.raises(Exception, match="no scheduled task"):
        actions.delete_task(user=operator, task_id=task.pk)
