"""Only designated users archive, and they type their password again: in actions (the
browser and CLI go through them), over the API; wrong passwords are counted and limited."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from nightshift.archiving.actions import MAX_PASSWORD_FAILURES, password_failures
from nightshift.archiving.choices import AuditAction
from nightshift.archiving.models import ArchiveAuditEntry
from nightshift.runs import actions as runs
from nightshift.runs.models import ScheduledTask
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def definition(archivist):
    return runs.create_definition(
        user=archivist,
        process_key="archive_data",
        name="Archive purchases",
        parameters={"entity": "purchase_events", "months": 12},
        schedule={"mode": "now"},
    )


def test_an_operator_without_the_archivist_permission_cannot_submit(definition, operator):
    with pytest.raises(PermissionDenied, match="Archivists"):
        runs.submit_definition(
            user=operator, unified_code=definition.unified_code, password=PASSWORD
        )
    assert not ScheduledTask.objects.exists()
    assert ArchiveAuditEntry.objects.get().action == AuditAction.PERMISSION_REFUSED


def test_an_archivist_must_give_the_password(definition, archivist):
    with pytest.raises(ValidationError) as refused:
        runs.submit_definition(user=archivist, unified_code=definition.unified_code)
    assert "password" in refused.value.message_dict
    assert not ScheduledTask.objects.exists()


def test_a_wrong_password_is_refused_and_counted(definition, archivist):
    with pytest.raises(ValidationError, match="not correct"):
        runs.submit_definition(
            user=archivist, unified_code=definition.unified_code, password="wrong"
        )
    assert not ScheduledTask.objects.exists()
    assert password_failures(archivist) == 1


def test_after_too_many_wrong_passwords_even_the_right_one_is_refused(definition, archivist):
    for _ in range(MAX_PASSWORD_FAILURES):
        with pytest.raises(ValidationError):
            runs.submit_definition(
                user=archivist, unified_code=definition.unified_code, password="wrong"
            )
    with pytest.raises(PermissionDenied, match="Too many wrong passwords"):
        runs.submit_definition(
            user=archivist, unified_code=definition.unified_code, password=PASSWORD
        )
    assert not ScheduledTask.objects.exists()


def test_the_right_password_submits(definition, archivist):
    task = runs.submit_definition(
        user=archivist, unified_code=definition.unified_code, password=PASSWORD
    )
    assert task.definition == definition


def test_other_processes_ask_no_password(operator):
    from nightshift.processes.registry import all_processes

    others = [p for p in all_processes() if p.key != "archive_data"]
    assert not any(p.requires_password for p in others)


def test_api_submit_takes_the_password_in_the_body(call, definition, archivist, operator):
    path = f"/run-definitions/{definition.unified_code}/submit"
    assert call(operator, "post", path, {"password": PASSWORD}).status_code == 403
    wrong = call(archivist, "post", path, {"password": "wrong"})
    assert wrong.status_code == 422
    assert "password" in wrong.json()["errors"]
    assert call(archivist, "post", path).status_code == 422
    assert call(archivist, "post", path, {"password": PASSWORD}).status_code == 201
    assert password_failures(archivist) == 1


def test_api_archive_run_refuses_a_wrong_password_and_rate_limits(call, archivist):
    body = {"entity": "purchase_events", "months": 12, "password": "wrong"}
    for _ in range(MAX_PASSWORD_FAILURES):
        assert call(archivist, "post", "/archive-runs", body).status_code == 422
    body["password"] = PASSWORD
    limited = call(archivist, "post", "/archive-runs", body)
    assert limited.status_code == 403
    assert "Too many wrong passwords" in limited.json()["detail"]


def test_api_archive_run_with_the_password_submits_a_run_now_definition(call, archivist):
    body = {"entity": "purchase_events", "months": 12, "password": PASSWORD}
    response = call(archivist, "post", "/archive-runs", body)
    assert response.status_code == 201
    task = ScheduledTask.objects.get()
    assert task.definition.parameters == {"entity": "purchase_events", "months": 12}
    assert response.json()["definition"] == task.definition.unified_code
