"""The definition screen of each process built here renders its parameters and saves a
definition from the form, with the operator's errors next to the fields."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse

from nightshift.mail.models import EmailTemplate
from nightshift.runs.models import RunDefinition

KEYS = [
    "mail.birthdays",
    "mail.suppression_list",
    "billing.past_due_invoices",
    "sales.expired_jobs",
    "system.bug_detector",
]


@pytest.fixture
def as_operator(client, operator):
    client.force_login(operator)
    return client


@pytest.mark.parametrize("key", KEYS)
def test_definition_screen_renders_the_parameters(as_operator, key):
    response = as_operator.get(reverse("runs:definition_create"), {"process": key})
    assert response.status_code == 200
    assert 'name="general-name"' in response.text


def test_birthday_definition_is_saved_from_the_screen(as_operator):
    EmailTemplate.objects.create(code="bday", name="b", subject="s", body_text="t")
    fields = {
        "process": "mail.birthdays",
        "general-name": "Birthdays",
        "general-life_cycle": "effective",
        "general-log_level": "errors",
        "general-misfire_policy": "fire_once",
        "schedule-mode": "now",
        "throttle-restart_unit": "minutes",
        "param-template": "bday",
        "param-subject": "Parabéns, {{ first_name }}",
    }
    response = as_operator.post(reverse("runs:definition_create"), fields)
    assert response.status_code in (200, 302), response.status_code
    if response.status_code == 200:  # show what the form refused, to fix the test's fields
        errors = re.findall(r"has-error\" data-field=\"([^\"]+)", response.text)
        pytest.fail(f"refused: {errors}")
    definition = RunDefinition.objects.get(name="Birthdays")
    assert definition.parameters["template"] == "bday"
    assert definition.parameters["subject"] == "Parabéns, {{ first_name }}"


def test_unknown_template_is_named_next_to_its_field(as_operator):
    response = as_operator.post(
        reverse("runs:definition_create"),
        {
            "process": "mail.birthdays",
            "general-name": "Birthdays",
            "general-life_cycle": "effective",
            "general-log_level": "errors",
            "general-misfire_policy": "fire_once",
            "schedule-mode": "now",
            "throttle-restart_unit": "minutes",
            "param-template": "ghost",
        },
    )
    assert response.status_code == 200
    assert "There is no active e-mail template with the code “ghost”." in unescape(response.text)
    assert not RunDefinition.objects.exists()
