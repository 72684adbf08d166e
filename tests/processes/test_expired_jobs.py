"""Expired jobs: late tasks and dispatches alert owner, manager and designated users by
notification and e-mail, once per job and lateness level."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import timezone

from nightshift.crm.choices import JobState
from nightshift.crm.models import Dispatch, Notification, Task
from nightshift.mail.models import JobAlert
from nightshift.processes.base import ParameterError
from nightshift.processes.builtin.expired_jobs import ExpiredJobs, job_key, job_of
from nightshift.runs.models import RunState
from tests.mail.smtp import serve

from ._engine import items, run_process

KEY = ExpiredJobs.key
NOW = datetime.datetime(2026, 11, 22, 12, 0, tzinfo=datetime.UTC)
HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def smtp_server(settings):
    yield from serve(settings)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def people(make_user):
    return {
        "owner": make_user("owen", email="owen@example.com", first_name="Owen"),
        "manager": make_user("mara", email="mara@example.com", first_name="Mára"),
        "watcher": make_user("wes", email="wes@example.com"),
    }


def task(people, hours_late: float, **fields) -> Task:
    fields.setdefault("owner", people["owner"])
    fields.setdefault("manager", people["manager"])
    return Task.objects.create(subject="Call back", due_at=NOW - hours_late * HOUR, **fields)


def dispatch(people, hours_late: float, code: str, **fields) -> Dispatch:
    fields.setdefault("owner", people["owner"])
    return Dispatch.objects.create(
        code=code, subject="Install", due_at=NOW - hours_late * HOUR, **fields
    )


def test_keys_encode_the_kind_and_keep_order():
    assert job_key("task", 21) == 42
    assert job_key("dispatch", 21) == 43
    assert job_of(43) == ("dispatch", 21)
    assert job_of(42) == ("task", 21)


def test_only_open_jobs_past_the_threshold_are_candidates(people, clock):
    late = task(people, 4)
    task(people, 2)  # not late enough
    task(people, 10, state=JobState.DONE, completed_at=NOW)
    task(people, 10, state=JobState.CANCELLED)
    late_dispatch = dispatch(people, 3.5, "D-1")
    process = ExpiredJobs()
    params = ExpiredJobs.validate_parameters({})
    keys = process.next_keys(params, as_of=NOW.date(), after=0, limit=100)
    assert keys == sorted([job_key("task", late.pk), job_key("dispatch", late_dispatch.pk)])
    assert process.count(params, as_of=NOW.date(), after=0) == 2
    # Keys above a cursor: what a resumed run sees.
    assert process.next_keys(params, as_of=NOW.date(), after=keys[0], limit=100) == keys[1:]


def test_alert_reaches_owner_manager_and_designated_users(people, clock, operator, smtp_server):
    late = task(people, 5)
    run = run_process(operator, KEY, {"notify_users": ["wes"]})

    assert run.state == RunState.COMPLETED
    recipients = sorted(r.rcpt_tos[0] for r in smtp_server.received)
    assert recipients == ["mara@example.com", "owen@example.com", "wes@example.com"]
    assert Notification.objects.filter(subject_key=f"job-late:task:{late.pk}:1").count() == 3
    ok, message = items(run)[job_key("task", late.pk)]
    assert ok
    assert "5.00 hours late" in message
    by_mara = next(r for r in smtp_server.received if r.rcpt_tos == ["mara@example.com"])
    assert by_mara.message["To"].addresses[0].display_name == "Mára"


def test_each_level_alerts_once_not_at_every_run(people, clock, operator, smtp_server):
    late = task(people, 4, manager=None)
    params = {"escalate_after_hours": ["24"]}
    run_process(operator, KEY, params)
    again = run_process(operator, KEY, params)
    assert len(smtp_server.received) == 1
    assert again.total == 0

    clock.shift(datetime.timedelta(hours=21))  # now 25 hours late: level 2
    later = run_process(operator, KEY, params)
    assert later.total == 1
    assert len(smtp_server.received) == 2
    assert set(JobAlert.objects.filter(job_id=late.pk).values_list("level", flat=True)) == {1, 2}


def test_a_job_that_skipped_levels_is_alerted_once_for_the_highest(
    people, clock, operator, smtp_server
):
    late = task(people, 100, manager=None)
    run_process(operator, KEY, {"escalate_after_hours": ["24", "72"]})
    assert len(smtp_server.received) == 1
    assert smtp_server.received[0].message["Subject"].endswith("100.00 hours late")
    assert set(JobAlert.objects.filter(job_id=late.pk).values_list("level", flat=True)) == {1, 2, 3}


def test_job_without_anyone_to_alert_is_recorded_and_said(people, clock, operator, smtp_server):
    orphan = task(people, 5, owner=None, manager=None)
    run = run_process(operator, KEY, {})
    ok, message = items(run)[job_key("task", orphan.pk)]
    assert ok
    assert "nobody" in message
    assert JobAlert.objects.filter(job_id=orphan.pk).exists()


def test_template_renders_the_job_placeholders(people, clock, operator, smtp_server):
    from nightshift.mail.models import EmailTemplate

    EmailTemplate.objects.create(
        code="late",
        name="Late job",
        subject="{{ kind }} late: {{ subject }}",
        body_text="{{ recipient }}, {{ hours_late }} h (level {{ level }})",
    )
    task(people, 6, manager=None)
    run_process(operator, KEY, {"template": "late"})
    message = smtp_server.received[0].message
    assert message["Subject"] == "Task late: Call back"
    assert message.get_content().strip() == "Owen, 6.00 h (level 1)"


def test_only_the_chosen_kinds_are_watched(people, clock):
    task(people, 5)
    only = dispatch(people, 5, "D-9")
    params = ExpiredJobs.validate_parameters({"job_kinds": ["dispatch"]})
    keys = ExpiredJobs().next_keys(params, as_of=NOW.date(), after=0, limit=10)
    assert keys == [job_key("dispatch", only.pk)]


def test_parameters_are_checked(db):
    with pytest.raises(ParameterError) as error:
        ExpiredJobs.validate_parameters(
            {"notify_users": ["ghost"], "late_after_hours": "5", "escalate_after_hours": ["4"]}
        )
    assert "__all__" in error.value.errors or "escalate_after_hours" in str(error.value)
    with pytest.raises(ParameterError) as error:
        ExpiredJobs.validate_parameters({"notify_users": ["ghost"]})
    assert "ghost" in error.value.errors["notify_users"]


def test_demo_late_jobs_are_alerted(operator, smtp_server):
    from nightshift.crm.demo import generate_demo

    generate_demo(size="small", seed=42)
    now = timezone.now()
    late_tasks = Task.objects.filter(state__in=["open", "in_progress"], due_at__lt=now - 3 * HOUR)
    late_dispatches = Dispatch.objects.filter(
        state__in=["open", "in_progress"], due_at__lt=now - 3 * HOUR
    )
    expected = {job_key("task", pk) for pk in late_tasks.values_list("pk", flat=True)} | {
        job_key("dispatch", pk) for pk in late_dispatches.values_list("pk", flat=True)
    }
    # The demo's history: a job alerted at level 1 on an earlier day is not alerted again.
    expected -= {
        job_key(kind, pk) for kind, pk in JobAlert.objects.values_list("job_kind", "job_id")
    }
    run = run_process(operator, KEY, {})
    assert expected
    assert set(items(run)) == expected
    assert run.state == RunState.COMPLETED
    assert smtp_server.received
