"""The engine's pages through Django's test client: every page, every POST, the filters, the
definition form's error placement, versions and the schedule preview."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Literal

import pydantic
import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from nightshift.processes.base import Process
from nightshift.processes.builtin.short_term_deactivation import LeaveShortTermDeactivation
from nightshift.processes.registry import register_temporarily
from nightshift.runs import actions, engine
from nightshift.runs.models import (
    AgendaEntry,
    ApplicationServer,
    LifeCycle,
    LogEntry,
    LogLevel,
    ProcessRun,
    RunDefinition,
    RunState,
    ScheduledTask,
    SchedulerState,
    TaskState,
)
from nightshift.runs.scheduler import fire_due
from tests.runs.tagging import TAG, TagContacts

WEEKLY = {
    "mode": "advanced",
    "start": "2030-01-07T03:00",
    "timezone": "UTC",
    "repeat": {"weekly": {"weekdays": ["MO", "TH"]}},
}
ONCE_LATER = {"mode": "once", "at": "2031-06-01T03:00", "timezone": "UTC"}
ITEMS_ERROR = "refused: the e-mail asks not to be tagged"


def signed_in(client: Client, user) -> Client:
    client.force_login(user)
    return client


@pytest.fixture
def as_operator(client, operator) -> Client:
    return signed_in(client, operator)


@pytest.fixture
def as_admin(client, administrator) -> Client:
    return signed_in(client, administrator)


@pytest.fixture
def viewer(make_user):
    """Someone who may look at the engine's pages but not operate it."""
    user = make_user("vera")
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="runs"))
    return user


def form_data(**overrides) -> dict[str, object]:
    """What the definition form posts for a "now" definition of the test process."""
    data: dict[str, object] = {
        "process": TagContacts.key,
        "general-name": "Tag the city",
        "general-alternative_code": "",
        "general-description": "",
        "general-life_cycle": LifeCycle.EFFECTIVE,
        "general-log_level": LogLevel.ERRORS,
        "general-notify_on_completion": "on",
        "general-server": "",
        "general-misfire_policy": "fire_once",
        "param-city": "Lisbon",
        "schedule-mode": "now",
        "schedule-timezone": "",
        "schedule-unit": "days",
        "schedule-start_kind": "at",
        "schedule-start_after_unit": "hours",
        "schedule-end_kind": "never",
        "schedule-end_after_unit": "days",
        "schedule-frequency": "weekly",
        "schedule-interval": "1",
        "schedule-monthly_by": "day",
        "schedule-nth": "1",
        "schedule-weekday": "MO",
        "schedule-month": "1",
        "throttle-restart_unit": "minutes",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def weekly_form(**overrides) -> dict[str, object]:
    return form_data(
        **{
            "schedule-mode": "advanced",
            "schedule-timezone": "UTC",
            "schedule-start_at": "2030-01-07T03:00",
            "schedule-frequency": "weekly",
            "schedule-weekdays": ["MO", "TH"],
            **overrides,
        }
    )


def field_errors(html: str, name: str) -> list[str]:
    """The error messages shown inside the field block of ``name``."""
    match = re.search(
        rf'<div class="field[^"]*" data-field="{re.escape(name)}">(.*?)</div>\s*(?=<div|</|$)',
        html,
        re.S,
    )
    assert match, f"no field {name!r} on the page"
    return re.findall(r'<p class="field-error" role="alert">(.*?)</p>', match.group(1), re.S)


def section_errors(html: str, section: str) -> list[str]:
    return re.findall(rf'data-section-error="{section}">(.*?)</(?:p|div)>', html, re.S)


def submit(definition: RunDefinition, user) -> ScheduledTask:
    return actions.submit_definition(user=user, unified_code=definition.unified_code)


@pytest.fixture
def executed_run(define, operator, contacts, scheduler_running):
    """A finished run of the test process over 5 contacts, 2 of them refused."""
    contacts(5, refused=2)
    definition = define(log_level=LogLevel.ALL)
    submit(definition, operator)
    (run,) = fire_due()
    return engine.execute(run.pk, worker_id="test-worker")


# ----------------------------------------------------------------------------- access


PAGES = [
    ("runs:scheduler", ()),
    ("runs:definitions", ()),
    ("runs:definition_create", ()),
    ("runs:board", ()),
    ("runs:log", ()),
]


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_page_refuses_outsider_and_sends_anonymous_to_login(client, outsider, name, args):
    url = reverse(name, args=args)
    assert client.get(url)["Location"] == f"/login/?next={url}"
    assert signed_in(client, outsider).get(url).status_code == 403


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_page_renders_for_operator(as_operator, tag_process, name, args):
    response = as_operator.get(reverse(name, args=args))
    assert response.status_code == 200


def test_outsider_is_refused_every_post(client, outsider, define, operator):
    definition = define()
    task = submit(definition, operator)
    run = ProcessRun.objects.create(
        definition=definition,
        process_key=definition.process_key,
        server=ApplicationServer.default(),
        as_of=timezone.localdate(),
    )
    signed_in(client, outsider)
    posts = [
        (reverse("runs:scheduler_state"), {"running": "0"}),
        (reverse("runs:task_delete", args=[task.pk]), {}),
        (reverse("runs:agenda"), {"process": TagContacts.key, "remove": "1"}),
        (reverse("runs:definition_create"), form_data()),
        (reverse("runs:definition_edit", args=[definition.unified_code]), form_data()),
        (reverse("runs:definition_submit", args=[definition.unified_code]), {}),
        (reverse("runs:run_stop", args=[run.pk]), {}),
        (reverse("runs:run_delete", args=[run.pk]), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    task.refresh_from_db()
    run.refresh_from_db()
    assert (task.state, run.state) == (TaskState.SCHEDULED, RunState.DRAFT)
    assert RunDefinition.objects.count() == 1
    assert SchedulerState.get().running


def test_viewer_without_operate_permission_gets_403_from_the_actions(client, viewer, define):
    definition = define()
    signed_in(client, viewer)
    assert client.get(reverse("runs:definitions")).status_code == 200
    assert client.post(reverse("runs:definition_create"), form_data()).status_code == 403
    url = reverse("runs:definition_submit", args=[definition.unified_code])
    assert client.post(url).status_code == 403
    assert not ScheduledTask.objects.exists()


def test_viewer_does_not_get_the_definition_screens(client, viewer, define):
    definition = define()
    signed_in(client, viewer)
    assert client.get(reverse("runs:definition_create")).status_code == 403
    edit = reverse("runs:definition_edit", args=[definition.unified_code])
    assert client.get(edit).status_code == 403
    html = client.get(reverse("runs:definition", args=[definition.unified_code])).content
    assert edit not in html.decode()


def test_outsider_gets_no_schedule_preview(client, outsider):
    response = signed_in(client, outsider).get(
        reverse("runs:schedule_preview"), {"schedule-mode": "now"}
    )
    assert response.status_code == 403


@pytest.mark.parametrize("name", ["runs:definitions", "runs:scheduler", "runs:log"])
def test_list_pages_keep_a_query_budget(
    as_operator, define, operator, name, django_assert_max_num_queries
):
    for n in range(30):
        submit(define(name=f"Definition {n}", schedule=ONCE_LATER), operator)
    with django_assert_max_num_queries(12):
        assert as_operator.get(reverse(name)).status_code == 200


def test_navigation_links_the_engine_pages(as_operator):
    html = as_operator.get(reverse("runs:board")).content.decode()
    for name in ("runs:scheduler", "runs:definitions", "runs:board", "runs:log"):
        assert f'href="{reverse(name)}"' in html
    active = re.findall(r'<a href="([^"]+)" class="is-active" aria-current="page">', html)
    assert active == [reverse("runs:board")]


def test_run_and_definition_pages_keep_their_area_highlighted(as_operator, three_runs):
    run = three_runs["draft"]
    pages = {
        reverse("runs:run", args=[run.pk]): reverse("runs:board"),
        reverse("runs:definition", args=[run.definition.unified_code]): reverse("runs:definitions"),
    }
    for url, area in pages.items():
        html = as_operator.get(url).content.decode()
        active = re.findall(r'<a href="([^"]+)" class="is-active" aria-current="page">', html)
        assert active == [area]


# ----------------------------------------------------------------------------- scheduler


def test_scheduler_page_shows_state_last_tick_and_no_buttons_for_operator(as_operator):
    SchedulerState.objects.filter(pk=1).update(
        running=False, last_tick_at=timezone.now() - timedelta(seconds=5)
    )
    html = as_operator.get(reverse("runs:scheduler")).content.decode()
    assert re.search(r"data-scheduler-state>Standby<", html)
    assert "Last tick:" in html
    assert reverse("runs:scheduler_state") not in html  # no Start/Stop without the permission


def test_administrator_stops_and_starts_the_scheduler(as_admin, administrator):
    response = as_admin.post(reverse("runs:scheduler_state"), {"running": "0"}, follow=True)
    html = response.content.decode()
    assert "The scheduler is in standby." in html
    assert re.search(r"data-scheduler-state>Standby<", html)
    assert not SchedulerState.get().running
    as_admin.post(reverse("runs:scheduler_state"), {"running": "1"})
    state = SchedulerState.get()
    assert (state.running, state.changed_by) == (True, administrator)


def test_operator_may_not_switch_the_scheduler(as_operator):
    response = as_operator.post(reverse("runs:scheduler_state"), {"running": "0"})
    assert response.status_code == 403
    assert SchedulerState.get().running


@pytest.fixture
def four_tasks(define, operator, scheduler_running):
    """One task of each filter: scheduled (later), running (fired, not ended), completed,
    deleted."""
    later = submit(define(name="Later", schedule=ONCE_LATER), operator)
    running = submit(define(name="Busy"), operator)
    done = submit(define(name="Done"), operator)
    fire_due()
    ProcessRun.objects.filter(task=done).update(state=RunState.COMPLETED)
    gone = actions.delete_task(
        user=operator, task_id=submit(define(name="Gone", schedule=ONCE_LATER), operator).pk
    )
    return {"scheduled": later, "running": running, "completed": done, "deleted": gone}


@pytest.mark.parametrize("show", ["scheduled", "running", "completed", "deleted"])
def test_scheduled_task_filter_shows_only_its_tasks(as_operator, four_tasks, show):
    response = as_operator.get(reverse("runs:scheduler"), {"tasks": show})
    shown = [task.pk for task in response.context["tasks"]]
    assert shown == [four_tasks[show].pk]
    html = response.content.decode()
    assert f'data-task="{four_tasks[show].pk}"' in html
    assert four_tasks[show].definition.name in html


def test_scheduled_task_row_shows_next_firing_misfire_policy_server_and_firings(
    as_operator, four_tasks
):
    html = as_operator.get(reverse("runs:scheduler")).content.decode()
    row = re.search(r'<tr data-task="\d+">(.*?)</tr>', html, re.S).group(1)
    assert "Fire once now" in row
    assert "default" in row
    assert "2031" in row


def test_operator_deletes_a_scheduled_task(as_operator, four_tasks):
    task = four_tasks["scheduled"]
    response = as_operator.post(reverse("runs:task_delete", args=[task.pk]), follow=True)
    assert f"Scheduled task #{task.pk} was deleted." in response.content.decode()
    task.refresh_from_db()
    assert task.state == TaskState.DELETED


def test_deleting_a_deleted_task_says_so(as_operator, four_tasks):
    task = four_tasks["deleted"]
    response = as_operator.post(reverse("runs:task_delete", args=[task.pk]), follow=True)
    assert f"There is no scheduled task #{task.pk}." in response.content.decode()


def test_agenda_lists_every_process_and_only_administrators_may_edit(
    client, operator, administrator, tag_process
):
    AgendaEntry.objects.create(process_key=TagContacts.key, schedule=WEEKLY)
    html = signed_in(client, operator).get(reverse("runs:scheduler")).content.decode()
    assert f'data-process="{TagContacts.key}"' in html
    assert f'data-process="{LeaveShortTermDeactivation.key}"' in html
    assert reverse("runs:agenda") not in html
    edit = f"{reverse('runs:agenda')}?process={TagContacts.key}"
    assert client.get(edit).status_code == 403
    html = signed_in(client, administrator).get(reverse("runs:scheduler")).content.decode()
    assert reverse("runs:agenda") in html
    assert client.get(edit).status_code == 200


def test_administrator_sets_and_removes_the_agenda_of_a_process(as_admin, tag_process):
    data = {
        key.replace("schedule-", "schedule-"): value
        for key, value in weekly_form().items()
        if key.startswith("schedule-")
    }
    response = as_admin.post(reverse("runs:agenda"), {"process": TagContacts.key, **data})
    assert response.status_code == 302
    entry = AgendaEntry.objects.get(process_key=TagContacts.key)
    assert entry.schedule["repeat"] == {"weekly": {"every": 1, "weekdays": ["MO", "TH"]}}
    html = as_admin.get(f"{reverse('runs:agenda')}?process={TagContacts.key}").content.decode()
    assert re.search(r'value="MO"[^>]*checked', html)
    as_admin.post(reverse("runs:agenda"), {"process": TagContacts.key, "remove": "1"})
    assert not AgendaEntry.objects.filter(process_key=TagContacts.key).exists()


def test_agenda_with_a_bad_schedule_shows_the_error_in_the_schedule_section(as_admin, tag_process):
    data = {k: v for k, v in weekly_form().items() if k.startswith("schedule-")}
    data.pop("schedule-weekdays")
    response = as_admin.post(reverse("runs:agenda"), {"process": TagContacts.key, **data})
    assert response.status_code == 200
    (error,) = section_errors(response.content.decode(), "schedule")
    assert "weekdays" in error
    assert not AgendaEntry.objects.filter(process_key=TagContacts.key).exists()


def test_operator_may_not_set_the_agenda(as_operator, tag_process):
    response = as_operator.post(
        reverse("runs:agenda"), {"process": TagContacts.key, "schedule-mode": "now"}
    )
    assert response.status_code == 403


# ----------------------------------------------------------------------------- definitions


def test_definition_list_shows_latest_versions_with_their_scheduled_date(
    as_operator, define, operator
):
    definition = define(schedule=ONCE_LATER)
    submit(definition, operator)
    response = as_operator.get(reverse("runs:definitions"))
    (shown,) = response.context["definitions"]
    assert shown.next_scheduled == definition.scheduled_date()
    html = response.content.decode()
    assert f'data-definition="{definition.unified_code}"' in html
    assert "Tag contacts" in html  # the process's name
    assert "2031" in re.search(r"data-scheduled-date>(.*?)<", html).group(1)


def test_definition_list_filters_by_process_life_cycle_and_text(
    as_operator, define, operator, tag_process
):
    tagged = define(name="Tag the north", alternative_code="NORTH")
    asleep = define(name="Tag the south", life_cycle=LifeCycle.NOT_EFFECTIVE)
    other = actions.create_definition(
        user=operator,
        process_key=LeaveShortTermDeactivation.key,
        name="Leave short term",
        schedule={"mode": "now"},
    )

    def shown(**query) -> set[str]:
        response = as_operator.get(reverse("runs:definitions"), query)
        return {d.unified_code for d in response.context["definitions"]}

    assert shown() == {tagged.unified_code, asleep.unified_code, other.unified_code}
    assert shown(process=TagContacts.key) == {tagged.unified_code, asleep.unified_code}
    assert shown(life_cycle=LifeCycle.NOT_EFFECTIVE) == {asleep.unified_code}
    assert shown(q="north") == {tagged.unified_code}
    assert shown(q="north".upper()) == {tagged.unified_code}
    assert shown(q=other.unified_code) == {other.unified_code}


def test_new_definition_starts_by_choosing_the_process(as_operator, tag_process):
    html = as_operator.get(reverse("runs:definition_create")).content.decode()
    assert f"?process={TagContacts.key}" in html
    assert "Take subscriptions out of short term deactivation" in html


def test_definition_form_renders_parameters_grouped_from_the_schema(as_operator):
    url = reverse("runs:definition_create")
    html = as_operator.get(url, {"process": LeaveShortTermDeactivation.key}).content.decode()
    criteria = html.split('data-group="criteria">')[1].split('data-group="input_settings"')[0]
    settings = html.split('data-group="input_settings">')[1].split('id="schedule-section"')[0]
    assert 'name="param-binding_state"' in criteria  # an enum: a select
    assert re.search(r'<select name="param-binding_state"', criteria)
    assert 'type="checkbox" name="param-billing_frequencies" value="monthly"' in criteria
    assert 'type="text" name="param-price_plans"' in criteria  # a list: comma-separated
    assert 'type="number" name="param-short_term_end_days_ago"' in criteria
    assert 'name="param-subscription_action_type"' in settings
    assert "Scheduling settings" in html
    assert 'name="throttle-max_records"' in html


class OddParameters(pydantic.BaseModel):
    """Parameters of every shape the form knows, and one it does not (a mapping)."""

    model_config = pydantic.ConfigDict(extra="forbid")
    ids: list[int] = pydantic.Field(
        default_factory=list, title="Record ids", json_schema_extra={"group": "criteria"}
    )
    level: Literal[1, 2, 3] = pydantic.Field(2, title="Level")
    dry_run: bool = pydantic.Field(False, title="Dry run")
    ratio: float | None = None
    limits: dict[str, int] = pydantic.Field(default_factory=dict, title="Limits")


class OddProcess(Process):
    key = "tests.odd_parameters"
    name = "Odd parameters"
    description = "Has parameters of every shape."
    Parameters = OddParameters


@pytest.fixture
def odd_process():
    with register_temporarily(OddProcess):
        yield OddProcess


def odd_form(**params) -> dict[str, object]:
    return form_data(process=OddProcess.key, **{"param-city": None, "param-level": "2", **params})


def test_parameters_the_form_cannot_render_get_a_json_text_area(as_operator, odd_process):
    url = reverse("runs:definition_create")
    html = as_operator.get(url, {"process": OddProcess.key}).content.decode()
    assert re.search(r'<textarea name="param-limits"[^>]*class="json"', html)
    assert re.search(r'<select name="param-level"', html)
    assert re.search(r'<option value="2" selected>', html)
    assert 'type="checkbox" name="param-dry_run"' in html
    assert 'type="number" name="param-ratio"' in html
    assert 'type="text" name="param-ids"' in html


def test_form_turns_every_widget_back_into_typed_parameters(as_operator, odd_process):
    data = odd_form(
        **{
            "param-ids": "3, 1,2",
            "param-level": "3",
            "param-dry_run": "on",
            "param-ratio": "0.5",
            "param-limits": '{"a": 1}',
        }
    )
    assert as_operator.post(reverse("runs:definition_create"), data).status_code == 302
    assert RunDefinition.objects.get().parameters == {
        "ids": [3, 1, 2],
        "level": 3,
        "dry_run": True,
        "ratio": 0.5,
        "limits": {"a": 1},
    }


def test_unreadable_parameters_are_refused_next_to_their_field(as_operator, odd_process):
    data = odd_form(**{"param-ids": "1, x", "param-limits": "{bad"})
    html = as_operator.post(reverse("runs:definition_create"), data).content.decode()
    assert field_errors(html, "param-ids") == ["“x” is not a number."]
    (error,) = field_errors(html, "param-limits")
    assert error.startswith("This is not valid JSON")
    assert "{bad" in html  # what was typed stays in the form
    assert not RunDefinition.objects.exists()


def test_operator_creates_a_definition_with_an_advanced_schedule(
    as_operator, operator, tag_process
):
    response = as_operator.post(
        reverse("runs:definition_create"), weekly_form(**{"general-server": "default"})
    )
    definition = RunDefinition.objects.get()
    assert response["Location"] == reverse("runs:definition", args=[definition.unified_code])
    assert definition.name == "Tag the city"
    assert definition.parameters == {"city": "Lisbon"}
    assert definition.schedule["repeat"] == {"weekly": {"every": 1, "weekdays": ["MO", "TH"]}}
    assert definition.schedule["start"].startswith("2030-01-07T03:00")
    assert definition.server.name == "default"
    assert definition.created_by == operator
    assert definition.throttle is None


def test_definition_form_turns_lists_and_enums_into_parameters(as_operator, operator):
    data = form_data(
        process=LeaveShortTermDeactivation.key,
        **{
            "param-city": None,
            "param-binding_state": "out_of_binding",
            "param-billing_frequencies": ["monthly", "annually"],
            "param-short_term_end_days_ago": "3",
        },
    )
    response = as_operator.post(reverse("runs:definition_create"), data)
    assert response.status_code == 302
    parameters = RunDefinition.objects.get().parameters
    assert parameters["binding_state"] == "out_of_binding"
    assert parameters["billing_frequencies"] == ["monthly", "annually"]
    assert parameters["short_term_end_days_ago"] == 3
    assert parameters["price_plans"] == []


def test_validation_errors_of_the_action_show_next_to_their_fields_and_keep_the_input(
    as_operator,
):
    data = form_data(
        process=LeaveShortTermDeactivation.key,
        **{
            "general-name": "  ",
            "general-alternative_code": "ALT-7",
            "param-city": None,
            "param-binding_state": "any",
            "param-binding_periods": "P12",
        },
    )
    response = as_operator.post(reverse("runs:definition_create"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert field_errors(html, "general-name") == ["The name is required."]
    (binding,) = field_errors(html, "param-binding_periods")
    assert "binding" in binding.lower()
    assert 'value="ALT-7"' in html
    assert 'value="P12"' in html
    assert "The run definition was not saved" in html
    assert not RunDefinition.objects.exists()


def test_a_bad_schedule_is_reported_in_the_schedule_section(as_operator, tag_process):
    response = as_operator.post(
        reverse("runs:definition_create"), weekly_form(**{"schedule-weekdays": None})
    )
    (error,) = section_errors(response.content.decode(), "schedule")
    assert "repeat.weekly.weekdays" in error
    assert 'name="schedule-start_at" value="2030-01-07T03:00"' in response.content.decode()


def test_throttling_a_run_now_definition_is_reported_in_the_throttle_section(
    as_operator, tag_process
):
    data = form_data(**{"throttle-max_records": "100", "throttle-restart_every": "5"})
    response = as_operator.post(reverse("runs:definition_create"), data)
    (error,) = section_errors(response.content.decode(), "throttle")
    assert "repeating schedules only" in error
    assert 'name="throttle-max_records" value="100"' in response.content.decode()


def test_a_number_field_with_text_is_refused_by_the_form(as_operator):
    data = form_data(
        process=LeaveShortTermDeactivation.key,
        **{"param-city": None, "param-short_term_end_days_ago": "many"},
    )
    response = as_operator.post(reverse("runs:definition_create"), data)
    assert field_errors(response.content.decode(), "param-short_term_end_days_ago")
    assert not RunDefinition.objects.exists()


def test_following_an_agenda_that_does_not_exist_is_reported_on_its_checkbox(
    as_operator, tag_process
):
    data = form_data(**{"schedule-follow_agenda": "on"})
    response = as_operator.post(reverse("runs:definition_create"), data)
    (error,) = field_errors(response.content.decode(), "schedule-follow_agenda")
    assert "no automatic agenda" in error


def test_definition_detail_shows_configuration_scheduled_date_and_runs(as_operator, executed_run):
    definition = executed_run.definition
    task = submit(definition, executed_run.requested_by)
    ScheduledTask.objects.filter(pk=task.pk).update(next_fire_at=timezone.now() + timedelta(days=3))
    response = as_operator.get(reverse("runs:definition", args=[definition.unified_code]))
    html = response.content.decode()
    assert response.context["scheduled_date"] == definition.scheduled_date()
    assert re.search(r"data-scheduled-date>[^<–]+<", html)
    assert f'data-run="{executed_run.pk}"' in html
    assert "Success and errors" in html
    assert "City" in html  # the parameter's title from the schema
    assert '"mode": "now"' in unescape(html)
    assert reverse("runs:definition_submit", args=[definition.unified_code]) in html


def test_operator_submits_a_definition(as_operator, define):
    definition = define(schedule=ONCE_LATER)
    url = reverse("runs:definition_submit", args=[definition.unified_code])
    response = as_operator.post(url, follow=True)
    task = ScheduledTask.objects.get()
    assert task.definition == definition
    assert f"Submitted to the scheduler as task #{task.pk}" in response.content.decode()


def test_submitting_a_not_effective_definition_shows_why(as_operator, define):
    definition = define(life_cycle=LifeCycle.NOT_EFFECTIVE)
    url = reverse("runs:definition_submit", args=[definition.unified_code])
    response = as_operator.post(url, follow=True)
    assert "Only effective run definitions can be submitted." in response.content.decode()
    assert not ScheduledTask.objects.exists()


def test_submitting_an_unknown_definition_is_not_found(as_operator, tag_process):
    assert as_operator.post(reverse("runs:definition_submit", args=["RD999999"])).status_code == 404


def test_edit_form_shows_the_definition_as_it_is(as_operator, define):
    definition = define(
        schedule=WEEKLY,
        parameters={"city": "Porto"},
        throttle={"max_records": 50, "restart_after": {"every": 2, "unit": "hours"}},
    )
    html = as_operator.get(
        reverse("runs:definition_edit", args=[definition.unified_code])
    ).content.decode()
    assert 'name="general-name" value="Tag everyone"' in html
    assert 'name="param-city" value="Porto"' in html
    assert re.search(r'<option value="advanced" selected>', html)
    assert re.search(r'value="TH"[^>]*checked', html)
    assert 'name="schedule-start_at" value="2030-01-07T03:00"' in html
    assert 'name="throttle-max_records" value="50"' in html
    assert re.search(r'<option value="hours" selected>', html)


def test_editing_an_unused_definition_changes_it_in_place(as_operator, define):
    definition = define()
    url = reverse("runs:definition_edit", args=[definition.unified_code])
    response = as_operator.post(url, form_data(**{"general-name": "Renamed"}), follow=True)
    assert "was saved (version 1)" in response.content.decode()
    definition.refresh_from_db()
    assert (definition.name, definition.version) == ("Renamed", 1)


def test_editing_a_used_definition_makes_a_new_version_and_says_so(as_operator, define, operator):
    definition = define(parameters={"city": "Porto"})
    submit(definition, operator)
    url = reverse("runs:definition_edit", args=[definition.unified_code])
    response = as_operator.post(url, form_data(**{"param-city": "Faro"}), follow=True)
    html = response.content.decode()
    assert "your changes were saved as version 2" in html
    assert re.search(r"data-version>2<", html)
    latest = RunDefinition.objects.get(unified_code=definition.unified_code, is_latest=True)
    assert (latest.version, latest.parameters) == (2, {"city": "Faro"})


def test_edit_errors_show_next_to_the_field(as_operator, define):
    definition = define()
    url = reverse("runs:definition_edit", args=[definition.unified_code])
    response = as_operator.post(url, form_data(**{"general-server": "nowhere"}))
    assert field_errors(response.content.decode(), "general-server")


def test_previous_version_shows_its_own_configuration_and_runs(as_operator, executed_run, operator):
    definition = executed_run.definition
    actions.edit_definition(
        user=operator, unified_code=definition.unified_code, parameters={"city": "Faro"}
    )
    url = reverse("runs:definition", args=[definition.unified_code])
    current = as_operator.get(url).content.decode()
    assert re.search(r"data-version>2<", current)
    assert "Faro" in current
    assert f'data-run="{executed_run.pk}"' not in current
    assert "?version=1" in current  # view previous versions
    previous = as_operator.get(url, {"version": 1}).content.decode()
    assert re.search(r"data-version>1<", previous)
    assert "data-previous-version" in previous
    assert TAG in previous
    assert "Faro" not in previous
    assert f'data-run="{executed_run.pk}"' in previous
    assert as_operator.get(url, {"version": 9}).status_code == 404


# ----------------------------------------------------------------------------- preview


def test_preview_returns_the_next_ten_firings(as_operator):
    query = {k: v for k, v in weekly_form().items() if k.startswith("schedule-")}
    response = as_operator.get(reverse("runs:schedule_preview"), query)
    html = response.content.decode()
    firings = re.findall(r"<li>(.*?)</li>", html)
    assert len(firings) == 10
    assert firings[:3] == [
        "Mon 2030-01-07 03:00 UTC",
        "Thu 2030-01-10 03:00 UTC",
        "Mon 2030-01-14 03:00 UTC",
    ]


def test_preview_answers_a_post_too(as_operator):
    data = {k: v for k, v in weekly_form().items() if k.startswith("schedule-")}
    response = as_operator.post(reverse("runs:schedule_preview"), data)
    assert len(re.findall(r"<li>", response.content.decode())) == 10


def test_preview_of_a_bad_schedule_shows_the_error_in_place(as_operator):
    query = {k: v for k, v in weekly_form().items() if k.startswith("schedule-")}
    query.pop("schedule-weekdays")
    html = as_operator.get(reverse("runs:schedule_preview"), query).content.decode()
    assert 'id="schedule-preview"' in html
    error = re.search(r"data-preview-error>(.*?)</p>", html).group(1)
    assert "repeat.weekly.weekdays" in error


def test_preview_of_a_past_once_schedule_says_nothing_is_left(as_operator):
    query = {"schedule-mode": "once", "schedule-at": "2001-01-01T00:00"}
    html = as_operator.get(reverse("runs:schedule_preview"), query).content.decode()
    assert "no firing left" in html


def test_preview_follows_the_agenda_of_the_process(as_operator, tag_process):
    AgendaEntry.objects.create(process_key=TagContacts.key, schedule=WEEKLY)
    query = {"schedule-mode": "now", "schedule-follow_agenda": "on", "process": TagContacts.key}
    html = as_operator.get(reverse("runs:schedule_preview"), query).content.decode()
    assert "Following the automatic agenda." in html
    assert "Mon 2030-01-07 03:00 UTC" in html


# ----------------------------------------------------------------------------- board


@pytest.fixture
def three_runs(define, operator, tag_process):
    """Runs in three states, on two servers, created on three days."""
    other = ApplicationServer.objects.create(name="night")
    definition = define()
    now = timezone.now()

    def run(state, server, days_ago):
        return ProcessRun.objects.create(
            definition=definition,
            process_key=definition.process_key,
            state=state,
            server=server,
            requested_by=operator,
            as_of=timezone.localdate(),
            created_at=now - timedelta(days=days_ago),
            total=10,
            processed=4,
        )

    return {
        "draft": run(RunState.DRAFT, ApplicationServer.default(), 0),
        "in_progress": run(RunState.IN_PROGRESS, other, 1),
        "completed": run(RunState.COMPLETED, other, 5),
    }


def test_board_lists_every_run_with_its_progress(as_operator, three_runs):
    html = as_operator.get(reverse("runs:board")).content.decode()
    for run in three_runs.values():
        assert f'data-run="{run.pk}"' in html
    row = re.search(rf'<tr id="run-{three_runs["in_progress"].pk}"(.*?)</tr>', html, re.S).group(0)
    assert "data-progress>40%<" in row
    assert "Tag contacts" in row
    assert "night" in row
    assert "olivia" in row


def test_board_polls_only_the_rows_of_active_runs(as_operator, three_runs):
    html = as_operator.get(reverse("runs:board")).content.decode()
    polled = re.findall(r'hx-get="/runs/(\d+)/row/" hx-trigger="every 2s"', html)
    active = {three_runs["draft"].pk, three_runs["in_progress"].pk}
    assert {int(pk) for pk in polled} == active


def test_board_row_fragment_stops_polling_once_the_run_ended(as_operator, three_runs):
    run = three_runs["in_progress"]
    url = reverse("runs:board_row", args=[run.pk])
    fragment = as_operator.get(url).content.decode()
    assert fragment.lstrip().startswith(f'<tr id="run-{run.pk}"')
    assert 'hx-trigger="every 2s"' in fragment
    ProcessRun.objects.filter(pk=run.pk).update(state=RunState.COMPLETED, processed=10)
    fragment = as_operator.get(url).content.decode()
    assert "hx-trigger" not in fragment
    assert "data-progress>100%<" in fragment


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"state": RunState.DRAFT}, {"draft"}),
        ({"server": "night"}, {"in_progress", "completed"}),
        ({"process": TagContacts.key}, {"draft", "in_progress", "completed"}),
        ({"process": LeaveShortTermDeactivation.key}, set()),
        ({"created_from": "{days_ago_1}"}, {"draft", "in_progress"}),
        ({"created_to": "{days_ago_1}"}, {"in_progress", "completed"}),
        ({"created_from": "{days_ago_1}", "created_to": "{days_ago_1}"}, {"in_progress"}),
    ],
)
def test_board_filters(as_operator, three_runs, query, expected):
    day = (timezone.localdate() - timedelta(days=1)).isoformat()
    query = {key: value.replace("{days_ago_1}", day) for key, value in query.items()}
    response = as_operator.get(reverse("runs:board"), query)
    shown = {run.pk for run in response.context["runs"]}
    assert shown == {three_runs[name].pk for name in expected}


def test_board_paginates_with_a_query_budget(as_operator, define, django_assert_max_num_queries):
    definition = define()
    ProcessRun.objects.bulk_create(
        ProcessRun(
            definition=definition,
            process_key=definition.process_key,
            server=ApplicationServer.default(),
            as_of=timezone.localdate(),
        )
        for _ in range(60)
    )
    with django_assert_max_num_queries(12):
        response = as_operator.get(reverse("runs:board"))
    assert len(response.context["runs"]) == 50
    page_two = as_operator.get(reverse("runs:board"), {"page": 2})
    assert len(page_two.context["runs"]) == 10


# ----------------------------------------------------------------------------- run


def test_run_page_polls_its_progress_while_active_and_offers_stop_and_delete(
    as_operator, three_runs
):
    run = three_runs["draft"]
    html = as_operator.get(reverse("runs:run", args=[run.pk])).content.decode()
    assert f'hx-get="/runs/{run.pk}/progress/" hx-trigger="every 2s"' in html
    assert reverse("runs:run_stop", args=[run.pk]) in html
    assert reverse("runs:run_delete", args=[run.pk]) in html
    started = three_runs["in_progress"]
    html = as_operator.get(reverse("runs:run", args=[started.pk])).content.decode()
    assert reverse("runs:run_stop", args=[started.pk]) in html
    assert reverse("runs:run_delete", args=[started.pk]) not in html


def test_progress_fragment_shows_state_and_percentage_and_stops_polling_at_the_end(
    as_operator, three_runs
):
    run = three_runs["in_progress"]
    url = reverse("runs:run_progress", args=[run.pk])
    fragment = as_operator.get(url).content.decode()
    assert fragment.lstrip().startswith('<section id="run-progress"')
    assert "data-state>In progress<" in fragment
    assert "data-progress>40%<" in fragment
    assert 'hx-trigger="every 2s"' in fragment
    ProcessRun.objects.filter(pk=run.pk).update(state=RunState.STOPPED)
    fragment = as_operator.get(url).content.decode()
    assert "data-state>Stopped<" in fragment
    assert "hx-trigger" not in fragment
    assert reverse("runs:run_stop", args=[run.pk]) not in fragment


def test_polling_a_run_that_just_ended_reloads_the_page_once(as_operator, three_runs):
    run = three_runs["in_progress"]
    url = reverse("runs:run_progress", args=[run.pk])
    assert "HX-Refresh" not in as_operator.get(url, headers={"HX-Request": "true"})
    ProcessRun.objects.filter(pk=run.pk).update(state=RunState.COMPLETED)
    response = as_operator.get(url, headers={"HX-Request": "true"})
    assert response["HX-Refresh"] == "true"


def test_operator_stops_a_run_in_progress(as_operator, three_runs):
    run = three_runs["in_progress"]
    response = as_operator.post(reverse("runs:run_stop", args=[run.pk]), follow=True)
    html = response.content.decode()
    assert "stops after the batch in flight is rolled back" in html
    assert "Stop requested" in html
    run.refresh_from_db()
    assert run.stop_requested


def test_stopping_a_draft_run_ends_it_at_once(as_operator, three_runs):
    run = three_runs["draft"]
    response = as_operator.post(reverse("runs:run_stop", args=[run.pk]), follow=True)
    assert f"Run #{run.pk} was stopped." in response.content.decode()
    run.refresh_from_db()
    assert run.state == RunState.STOPPED


def test_stopping_an_ended_run_says_it_has_ended(as_operator, three_runs):
    run = three_runs["completed"]
    response = as_operator.post(reverse("runs:run_stop", args=[run.pk]), follow=True)
    assert "has already ended" in response.content.decode()


def test_operator_deletes_a_draft_run(as_operator, three_runs):
    run = three_runs["draft"]
    response = as_operator.post(reverse("runs:run_delete", args=[run.pk]))
    assert response["Location"] == reverse("runs:board")
    assert not ProcessRun.objects.filter(pk=run.pk).exists()


def test_deleting_a_started_run_is_refused_with_the_reason(as_operator, three_runs):
    run = three_runs["in_progress"]
    response = as_operator.post(reverse("runs:run_delete", args=[run.pk]), follow=True)
    assert "stop it instead" in response.content.decode()
    assert ProcessRun.objects.filter(pk=run.pk).exists()


def test_unknown_run_is_not_found(as_operator, tag_process):
    assert as_operator.get(reverse("runs:run", args=[999])).status_code == 404
    assert as_operator.post(reverse("runs:run_stop", args=[999])).status_code == 404


def test_drill_down_into_records_with_errors_and_successes(as_operator, executed_run):
    url = reverse("runs:run", args=[executed_run.pk])
    response = as_operator.get(url, {"items": "error"})
    errors = [item.record_id for item in response.context["items"]]
    assert len(errors) == 2
    html = response.content.decode()
    assert html.count(ITEMS_ERROR) == 2
    assert 'data-items="error"' in html
    response = as_operator.get(url, {"items": "success"})
    assert len(response.context["items"]) == 3
    assert not set(errors) & {item.record_id for item in response.context["items"]}


def test_records_link_to_their_admin_page_for_staff(client, administrator, executed_run):
    url = reverse("runs:run", args=[executed_run.pk])
    html = signed_in(client, administrator).get(url, {"items": "error"}).content.decode()
    record = executed_run.items.filter(ok=False).order_by("record_id").first().record_id
    assert f'href="/admin/crm/contact/{record}/change/"' in html


def test_run_page_shows_the_runs_log(as_operator, executed_run):
    html = as_operator.get(reverse("runs:run", args=[executed_run.pk])).content.decode()
    log = re.search(r"<table class=\"counts\" data-log>(.*?)</table>", html, re.S).group(1)
    assert f"Run #{executed_run.pk} started" in log
    assert f"Run #{executed_run.pk} ended" in log


def test_errors_only_runs_say_successes_are_not_kept(
    as_operator, define, operator, contacts, scheduler_running
):
    contacts(3)
    submit(define(), operator)
    (run,) = fire_due()
    engine.execute(run.pk, worker_id="test-worker")
    html = as_operator.get(reverse("runs:run", args=[run.pk]), {"items": "success"}).content
    assert "successes are counted, not kept" in html.decode()


# ----------------------------------------------------------------------------- daily log


@pytest.fixture
def log_entries(db):
    now = timezone.localtime()
    LogEntry.objects.all().delete()
    return {
        "today_info": LogEntry.objects.create(
            at=now, source=LogEntry.Source.SCHEDULER, message="Fired today"
        ),
        "today_error": LogEntry.objects.create(
            at=now,
            source=LogEntry.Source.RUN,
            level=LogEntry.Level.ERROR,
            message="Failed today",
        ),
        "yesterday": LogEntry.objects.create(
            at=now - timedelta(days=1), source=LogEntry.Source.OPERATOR, message="Yesterday"
        ),
    }


def shown_entries(client: Client, **query) -> set[str]:
    response = client.get(reverse("runs:log"), query)
    return {entry.message for entry in response.context["entries"]}


def test_daily_log_shows_today_by_default(as_operator, log_entries):
    assert shown_entries(as_operator) == {"Fired today", "Failed today"}


def test_daily_log_filters_by_day_source_and_level(as_operator, log_entries):
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert shown_entries(as_operator, day=yesterday) == {"Yesterday"}
    assert shown_entries(as_operator, source=LogEntry.Source.SCHEDULER) == {"Fired today"}
    assert shown_entries(as_operator, level=LogEntry.Level.ERROR) == {"Failed today"}


def test_daily_log_day_follows_the_organization_time_zone(as_operator, settings, db):
    settings.TIME_ZONE = "America/Sao_Paulo"
    # 01:30 UTC on 2 March is still 1 March in São Paulo.
    LogEntry.objects.create(
        at=datetime(2026, 3, 2, 1, 30, tzinfo=UTC),
        source=LogEntry.Source.SCHEDULER,
        message="Late evening",
    )
    assert shown_entries(as_operator, day="2026-03-01") == {"Late evening"}
    assert shown_entries(as_operator, day="2026-03-02") == set()
