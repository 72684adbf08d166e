"""The Imports area and the import wizard in the browser's pages (Django's test client): the
list with its filters, each step, what goes wrong at each, and who may use them."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from nightshift.crm.models import Contact
from nightshift.imports.models import ImportFile
from nightshift.runs.models import ProcessRun, RunState, ScheduledTask, TaskState
from tests.imports.conftest import execute
from tests.imports.files import csv_bytes, read_sheet

CONTACTS = csv_bytes(
    [
        ["Code", "First name", "E-mail"],
        ["C1", "Ana", "ana@example.com"],
        ["C2", "Bia", "bia@"],
    ]
)
PRODUCTS = csv_bytes([["Code", "Title", "Price"], ["P1", "Box", "10.50"]])


@pytest.fixture
def browser(client, operator):
    client.force_login(operator)
    return client


def _file(content: bytes, name: str = "people.csv") -> io.BytesIO:
    file = io.BytesIO(content)
    file.name = name
    return file


def _map_url(upload, entity="contacts") -> str:
    return reverse("imports:map", args=[upload.pk, entity])


def _choices(response) -> dict[str, str]:
    """The mapping step's choices as its form would post them: every field's initial value."""
    form = response.context["form"]
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if field.widget.input_type == "checkbox":
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    schedule = response.context["schedule"]
    for name in ("mode",):
        data[schedule[name].html_name] = schedule[name].value()
    return data


def _mapping_step(browser, upload, entity="contacts"):
    response = browser.get(_map_url(upload, entity))
    assert response.status_code == 200
    return response, _choices(response)


# ----------------------------------------------------------------------------- the list


def test_the_imports_area_lists_runs_with_their_figures_and_error_file(browser, run_import):
    run = run_import(CONTACTS)
    response = browser.get(reverse("imports:list"))
    page = response.content.decode()
    assert response.status_code == 200
    assert f'href="{reverse("runs:run", args=[run.pk])}"' in page
    data_import = run.imports.get()
    assert reverse("imports:error_file", args=[data_import.pk]) in page
    assert "New import" in page
    error_file = browser.get(reverse("imports:error_file", args=[data_import.pk]))
    assert b"".join(error_file.streaming_content).decode().splitlines()[1].startswith("C2,Bia")


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ({"entity": "contacts"}, True),
        ({"entity": "products"}, False),
        ({"state": "completed"}, True),
        ({"state": "failed"}, False),
        ({"state": "in_progress"}, False),
        ({"created_from": "today"}, True),
        ({"created_to": "yesterday"}, False),
    ],
)
def test_the_imports_area_filters_by_entity_state_and_dates(browser, run_import, query, shown):
    run = run_import(CONTACTS)
    today = timezone.localdate()
    days = {"today": today, "yesterday": today - datetime.timedelta(days=1)}
    query = {key: days.get(value, value) for key, value in query.items()}
    page = browser.get(reverse("imports:list"), query).content.decode()
    assert (f'data-run="{run.pk}"' in page) is shown


def test_the_imports_area_is_the_utilities_menu_entry(browser):
    page = browser.get(reverse("web:dashboard")).content.decode()
    assert f'href="{reverse("imports:list")}"' in page


# ----------------------------------------------------------------------------- the steps


def test_step_one_offers_every_entity_with_its_csv_and_xlsx_templates(browser):
    response = browser.get(reverse("imports:new"))
    page = response.content.decode()
    for entity in ("contacts", "products", "devices", "reward_scheme_codes"):
        assert reverse("imports:upload", args=[entity]) in page
        assert reverse("imports:template", args=[entity, "csv"]) in page
        assert reverse("imports:template", args=[entity, "xlsx"]) in page
    template = browser.get(reverse("imports:template", args=["contacts", "xlsx"]))
    assert read_sheet(template.content)[0][0] == "Code"


def test_step_two_keeps_the_file_and_goes_on_to_the_mapping(browser):
    response = browser.post(reverse("imports:upload", args=["contacts"]), {"file": _file(CONTACTS)})
    upload = ImportFile.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _map_url(upload)
    assert (upload.name, upload.entity, upload.layout["format"]) == (
        "people.csv",
        "contacts",
        "csv",
    )


def test_step_two_says_why_a_file_that_is_not_a_spreadsheet_cannot_be_imported(browser):
    response = browser.post(
        reverse("imports:upload", args=["contacts"]),
        {"file": _file(b"%PDF-1.4 binary", "report.pdf")},
    )
    assert response.status_code == 200
    assert "not a CSV file or a spreadsheet" in " ".join(response.context["form"].errors["file"])
    assert re.search(r'data-field="file".*?field-error', response.content.decode(), re.S)


def test_step_two_refuses_a_file_over_the_size_limit_next_to_the_file_field(browser, settings):
    settings.NIGHTSHIFT_IMPORT_MAX_BYTES = 10
    response = browser.post(reverse("imports:upload", args=["contacts"]), {"file": _file(CONTACTS)})
    assert response.status_code == 200
    assert "files up to" in " ".join(response.context["form"].errors["file"])
    assert not ImportFile.objects.exists()


def test_step_two_without_a_file_asks_for_one(browser):
    response = browser.post(reverse("imports:upload", args=["contacts"]), {})
    assert response.context["form"].errors["file"]


def test_an_unknown_entity_is_not_found(browser):
    assert browser.get(reverse("imports:upload", args=["spaceships"])).status_code == 404


def test_step_three_shows_headers_first_row_and_the_suggested_mapping(browser, upload):
    uploaded = upload(CONTACTS)
    response, choices = _mapping_step(browser, uploaded)
    page = response.content.decode()
    assert [column for column, _value, _field in response.context["form"].column_rows()] == [
        "Code",
        "First name",
        "E-mail",
    ]
    assert ">Ana<" in page
    assert ">ana@example.com<" in page
    assert (choices["column_0"], choices["column_1"], choices["column_2"]) == (
        "code",
        "first_name",
        "email",
    )
    for label in (
        "Do not import the first row (header)",
        "Automatically create missing attributes",
        "Update existing records",
        "Log level",
        "Scheduling settings",
    ):
        assert label in page
    assert choices["header"] == "on"


def test_a_required_field_not_mapped_is_named_beside_it_with_the_columns_it_could_use(
    browser, upload
):
    uploaded = upload(PRODUCTS)
    _response, choices = _mapping_step(browser, uploaded, "products")
    choices["column_1"] = ""  # Title (the suggestion for name) not imported
    response = browser.post(_map_url(uploaded, "products"), {**choices, "step": "preview"})
    assert response.status_code == 200
    assert response.templates[0].name == "imports/wizard_map.html"
    errors = response.context["form"].field_errors
    assert errors == {
        "name": ["Required field “Name” (name) is not mapped; columns it could use: “Title”."]
    }
    row = re.search(r'data-entity-field="name".*?</tr>', response.content.decode(), re.S)
    assert "columns it could use" in row.group(0)


def test_a_field_chosen_for_two_columns_is_refused_at_the_second(browser, upload):
    uploaded = upload(CONTACTS)
    _response, choices = _mapping_step(browser, uploaded)
    choices["column_2"] = "first_name"
    response = browser.post(_map_url(uploaded), {**choices, "step": "preview"})
    assert response.context["form"].errors["column_2"] == [
        "“First name” is already read from column “First name”; choose another field or "
        "“Do not import”."
    ]


def test_an_input_setting_that_does_not_convert_is_refused_beside_its_field(browser, upload):
    uploaded = upload(csv_bytes([["Code", "Value"], ["V1", "1"]]))
    _response, choices = _mapping_step(browser, uploaded, "vouchers")
    choices["set_valid_from"] = "someday"
    response = browser.post(_map_url(uploaded, "vouchers"), {**choices, "step": "preview"})
    assert "is not a date" in response.context["form"].errors["set_valid_from"][0]


def test_step_four_previews_create_and_reject_with_the_reason(browser, upload):
    uploaded = upload(CONTACTS)
    _response, choices = _mapping_step(browser, uploaded)
    response = browser.post(_map_url(uploaded), {**choices, "step": "preview"})
    assert response.templates[0].name == "imports/wizard_preview.html"
    rows = response.context["preview"]
    assert [(row["row"], row["action"]) for row in rows] == [(2, "create"), (3, "reject")]
    assert rows[1]["message"] == "Column “E-mail” (email): “bia@” is not a valid e-mail address."
    assert not Contact.objects.exists()
    page = response.content.decode()
    assert 'data-action="reject"' in page
    assert "Start import" in page
    # The choices ride along, hidden, for Start import and Previous step.
    assert 'type="hidden" name="column_2" value="email"' in page


def test_step_four_reports_existing_records_left_unchanged_when_update_is_off(browser, upload):
    Contact.objects.create(code="C1", first_name="Old")
    uploaded = upload(CONTACTS)
    _response, choices = _mapping_step(browser, uploaded)
    response = browser.post(_map_url(uploaded), {**choices, "step": "preview"})
    first = response.context["preview"][0]
    assert first["action"] == "reject"
    assert first["message"] == (
        "Column “Code” (code): “C1” already exists and “update existing records” is off; it was "
        "left unchanged."
    )

    choices["update_existing"] = "on"
    response = browser.post(_map_url(uploaded), {**choices, "step": "preview"})
    assert response.context["preview"][0]["action"] == "update"


def test_previous_step_shows_the_mapping_with_the_choices_kept(browser, upload):
    uploaded = upload(CONTACTS)
    _response, choices = _mapping_step(browser, uploaded)
    choices["column_1"] = ""
    choices["update_existing"] = "on"
    preview = browser.post(_map_url(uploaded), {**choices, "step": "preview"})
    hidden = dict(
        re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', preview.content.decode())
    )
    response = browser.post(_map_url(uploaded), {**hidden, "step": "map"})
    form = response.context["form"]
    assert response.templates[0].name == "imports/wizard_map.html"
    assert not form["column_1"].value()  # "Do not import" kept
    assert form["column_2"].value() == "email"
    assert form["update_existing"].value() is True


def test_start_import_submits_the_definition_and_opens_its_run(browser, upload, operator):
    uploaded = upload(CONTACTS)
    _response, choices = _mapping_step(browser, uploaded)
    choices["name"] = "Spring contacts"
    response = browser.post(_map_url(uploaded), {**choices, "step": "start"})
    run = ProcessRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("runs:run", args=[run.pk])
    assert run.definition.name == "Spring contacts"
    assert run.definition.parameters["mapping"] == {
        "code": "Code",
        "first_name": "First name",
        "email": "E-mail",
    }
    ended = execute(run)
    assert ended.state == RunState.COMPLETED_WITH_ERRORS
    assert list(Contact.objects.values_list("code", flat=True)) == ["C1"]


def test_start_import_later_schedules_it_and_returns_to_the_list(browser, upload):
    uploaded = upload(CONTACTS)
    _response, choices = _mapping_step(browser, uploaded)
    later = timezone.localtime() + datetime.timedelta(days=2)
    choices.update(
        {"schedule-mode": "once", "schedule-at": later.strftime("%Y-%m-%dT%H:%M"), "step": "start"}
    )
    response = browser.post(_map_url(uploaded), choices)
    assert response.status_code == 302
    assert response["Location"] == reverse("imports:list")
    task = ScheduledTask.objects.get()
    assert task.state == TaskState.SCHEDULED
    assert not ProcessRun.objects.exists()


def test_a_schedule_with_no_firing_left_is_refused_on_the_scheduling_settings(browser, upload):
    uploaded = upload(CONTACTS)
    _response, choices = _mapping_step(browser, uploaded)
    choices.update({"schedule-mode": "once", "schedule-at": "2001-01-01T03:00", "step": "start"})
    response = browser.post(_map_url(uploaded), choices)
    assert response.status_code == 200
    errors = response.context["schedule"].non_field_errors()
    assert errors
    assert "past" in " ".join(errors)
    assert 'data-section-error="schedule"' in response.content.decode()
    assert not ScheduledTask.objects.exists()


# ----------------------------------------------------------------------------- permissions


def test_someone_signed_out_is_sent_to_sign_in(client):
    response = client.get(reverse("imports:new"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_someone_who_may_not_operate_runs_is_refused_every_step(client, outsider, upload):
    uploaded = upload(CONTACTS)
    client.force_login(outsider)
    assert client.get(reverse("imports:list")).status_code == 403
    assert client.get(reverse("imports:new")).status_code == 403
    assert client.get(reverse("imports:upload", args=["contacts"])).status_code == 403
    refused = client.post(reverse("imports:upload", args=["contacts"]), {"file": _file(CONTACTS)})
    assert refused.status_code == 403
    assert client.get(_map_url(uploaded)).status_code == 403
    assert client.post(_map_url(uploaded), {"step": "start"}).status_code == 403
    assert ImportFile.objects.count() == 1
    assert not ProcessRun.objects.exists()


def test_the_imports_list_costs_the_same_queries_for_one_run_or_many(browser, run_import):
    run_import(CONTACTS)
    with CaptureQueriesContext(connection) as one:
        browser.get(reverse("imports:list"))
    run_import(CONTACTS)
    run_import(PRODUCTS, "products")
    with CaptureQueriesContext(connection) as three:
        page = browser.get(reverse("imports:list")).content.decode()
    assert page.count("data-run=") == 3
    assert len(three) == len(one)
