"""The process registry: registration by key, lookups, temporary registration, discovery,
and the listings built on it (CLI and API)."""

from __future__ import annotations

import datetime
import io
import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from pydantic import BaseModel, ConfigDict, Field

from nightshift.api.actions import create_token
from nightshift.processes.base import Outcome, ParameterError, Process
from nightshift.processes.builtin.short_term_deactivation import LeaveShortTermDeactivation
from nightshift.processes.registry import (
    all_processes,
    autodiscover,
    get_process,
    register,
    register_temporarily,
)

STD_KEY = "subscriptions.leave_short_term_deactivation"


class EchoParameters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    times: int = Field(default=1, ge=1)


class Echo(Process):
    """A process that succeeds for every record, for registry tests."""

    key = "tests.echo"
    name = "Echo"
    description = "Succeeds for every record."
    Parameters = EchoParameters

    def process_batch(self, params, ids, *, as_of: datetime.date, run_number):
        return [Outcome(pk, ok=True) for pk in ids]


class OtherEcho(Echo):
    """A different class claiming the same key."""


def test_duplicate_key_fails_at_registration():
    with register_temporarily(Echo), pytest.raises(ImproperlyConfigured, match=r"tests\.echo"):
        register(OtherEcho)
    assert "tests.echo" not in {process.key for process in all_processes()}


def test_registering_the_same_class_twice_is_harmless():
    with register_temporarily(Echo):
        assert register(Echo) is Echo
        assert get_process("tests.echo") is Echo


def test_class_without_key_is_refused():
    class Nameless(Process):
        """No key."""

    with pytest.raises(ImproperlyConfigured, match="no key"):
        register(Nameless)


def test_unknown_key_names_the_known_processes():
    with pytest.raises(LookupError, match=r"No process is registered under 'nope'.*" + STD_KEY):
        get_process("nope")


def test_register_temporarily_removes_the_process_afterwards():
    with register_temporarily(Echo):
        assert get_process("tests.echo") is Echo
        assert Echo in all_processes()
    with pytest.raises(LookupError):
        get_process("tests.echo")


def test_register_temporarily_restores_the_class_it_displaced():
    class Impostor(LeaveShortTermDeactivation):
        """Stands in for the real process in a test."""

    with register_temporarily(Impostor):
        assert get_process(STD_KEY) is Impostor
    assert get_process(STD_KEY) is LeaveShortTermDeactivation


def test_all_processes_are_sorted_by_key():
    with register_temporarily(Echo):
        keys = [process.key for process in all_processes()]
    assert keys == sorted(keys)
    assert {"tests.echo", STD_KEY} <= set(keys)


def test_autodiscovery_finds_the_short_term_deactivation_process():
    autodiscover()  # already ran at start-up; running it again must not trip the duplicate check
    assert get_process(STD_KEY) is LeaveShortTermDeactivation


def test_parameter_errors_name_the_field_path():
    with pytest.raises(ParameterError) as caught:
        Echo.validate_parameters({"times": 0, "colour": "red"})
    assert set(caught.value.errors) == {"times", "colour"}
    assert "greater than or equal to 1" in caught.value.errors["times"]


def test_parameters_that_are_not_an_object_are_refused():
    with pytest.raises(ParameterError) as caught:
        Echo.validate_parameters(["times", 2])
    assert caught.value.errors == {"__all__": "The parameters must be a JSON object."}


def test_validated_parameters_are_normalised_json(db):
    assert Echo.validate_parameters(None) == {"times": 1}
    json.dumps(LeaveShortTermDeactivation.validate_parameters({}))


def test_processes_list_prints_key_name_and_parameters():
    out = io.StringIO()
    call_command("processes", "list", stdout=out)
    text = out.getvalue()
    assert STD_KEY in text
    assert "Take subscriptions out of short term deactivation" in text
    assert "short_term_end_days_ago" in text


def test_processes_list_json_carries_the_parameter_schema():
    out = io.StringIO()
    with register_temporarily(Echo):
        call_command("processes", "list", "--json", stdout=out)
    listed = {process["key"]: process for process in json.loads(out.getvalue())}
    assert listed["tests.echo"]["parameters"]["properties"]["times"]["minimum"] == 1
    schema = listed[STD_KEY]["parameters"]
    assert schema["additionalProperties"] is False
    assert "binding_periods" in schema["properties"]


def test_api_lists_processes_with_their_schema(client, operator):
    _token, secret = create_token(user=operator, name="script")
    response = client.get("/api/v1/processes", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    by_key = {process["key"]: process for process in response.json()}
    assert by_key[STD_KEY]["name"] == "Take subscriptions out of short term deactivation"
    assert "subscription_action_type" in by_key[STD_KEY]["parameters"]["properties"]


def test_api_refuses_anonymous_callers(client, db):
    assert client.get("/api/v1/processes").status_code == 401
