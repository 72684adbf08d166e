"""The engine: batches, per-record outcomes, log levels, stop, failure, resume, throttling,
shutdown hand-back and the summary sent to the requester."""

from __future__ import annotations

import pytest
from django_tasks_db.models import DBTaskResult

from nightshift.crm.models import Contact, Notification
from nightshift.processes.base import Outcome, ProcessFailed
from nightshift.processes.registry import register_temporarily
from nightshift.runs import actions, engine
from nightshift.runs.models import ApplicationServer, LogEntry, ProcessRun, RunState, TaskState
from nightshift.runs.scheduler import fire_due
from nightshift.runs.workers import registered
from tests.runs.tagging import TAG, TagContacts

EVERY_HOUR = {
    "mode": "repeat",
    "every": 1,
    "unit": "hours",
    "start": {"after": {"every": 1, "unit": "seconds"}},
}


@pytest.fixture
def fire(define, operator, scheduler_running):
    """Submit a definition and fire its first slot: the draft run a worker would pick up."""

    def make(**fields) -> ProcessRun:
        definition = define(**fields)
        task = actions.submit_definition(user=operator, unified_code=definition.unified_code)
        (run,) = fire_due(task.next_fire_at)
        return run

    return make


def execute(run: ProcessRun, **kwargs) -> ProcessRun:
    with registered(ApplicationServer.default()) as worker_id:
        ended = engine.execute(run.pk, worker_id=worker_id, **kwargs)
    assert ended is not None
    return ended


def test_a_run_processes_every_candidate_in_batches(fire, contacts):
    contacts(25)
    seen = []
    run = execute(fire(), batch_size=10, progress=lambda r: seen.append(r.processed))
    assert run.state == RunState.COMPLETED
    assert (run.total, run.processed, run.succeeded, run.failed) == (25, 25, 25, 0)
    assert run.progress == 100
    assert seen == [0, 10, 20, 25]
    assert Contact.objects.filter(city=TAG).count() == 25
    assert run.started_at <= run.ended_at
    assert run.worker_id == ""


def test_errors_only_stores_the_errors_and_counts_the_successes(fire, contacts):
    contacts(20, refused=4)
    run = execute(fire(log_level="errors"), batch_size=7)
    assert run.state == RunState.COMPLETED_WITH_ERRORS
    assert (run.succeeded, run.failed) == (16, 4)
    items = run.items.all()
    assert [item.ok for item in items] == [False] * 4
    assert {item.message for item in items} == {"refused: the e-mail asks not to be tagged"}


def test_success_and_errors_stores_an_item_per_record(fire, contacts):
    made = contacts(12, refused=2)
    run = execute(fire(log_level="all"), batch_size=5)
    assert sorted(run.items.values_list("record_id", flat=True)) == [c.pk for c in made]
    assert run.items.filter(ok=True).count() == 10


def test_a_run_with_no_candidates_completes_empty(fire, contacts):
    run = execute(fire())
    assert (run.state, run.total, run.processed) == (RunState.COMPLETED, 0, 0)


def test_a_stop_asked_for_during_a_batch_rolls_that_batch_back(fire, contacts, operator):
    made = contacts(30)
    run = fire(log_level="all")
    batches = []

    def stop_on_third_batch(ids):
        batches.append(ids)
        if len(batches) == 3:
            actions.stop_run(user=operator, number=run.pk)

    TagContacts.during_batch = stop_on_third_batch
    ended = execute(run, batch_size=10)
    assert ended.state == RunState.STOPPED
    assert (ended.processed, ended.succeeded) == (20, 20)
    assert "rolled back" in ended.message
    tagged = set(Contact.objects.filter(city=TAG).values_list("pk", flat=True))
    assert tagged == {c.pk for c in made[:20]}
    assert ended.items.count() == 20


def test_a_stop_asked_for_between_batches_ends_the_run_stopped(fire, contacts, operator):
    contacts(30)
    run = fire()

    def stop_after_first_batch(progressing):
        if progressing.processed == 10:
            actions.stop_run(user=operator, number=run.pk)

    ended = execute(run, batch_size=10, progress=stop_after_first_batch)
    assert (ended.state, ended.processed) == (RunState.STOPPED, 10)
    assert Contact.objects.filter(city=TAG).count() == 10


def test_a_stopped_run_nobody_holds_ends_stopped_when_a_worker_picks_it_up(fire, contacts):
    contacts(5)
    run = fire()
    ProcessRun.objects.filter(pk=run.pk).update(
        state=RunState.IN_PROGRESS, worker_id="", stop_requested=True
    )
    assert engine.execute(run.pk, worker_id="w") is None
    run.refresh_from_db()
    assert run.state == RunState.STOPPED
    assert not Contact.objects.filter(city=TAG).exists()


def test_stopping_a_run_not_started_ends_it_and_no_worker_runs_it(fire, contacts, operator):
    contacts(5)
    run = fire()
    actions.stop_run(user=operator, number=run.pk)
    run.refresh_from_db()
    assert run.state == RunState.STOPPED
    with registered(ApplicationServer.default()) as worker_id:
        assert engine.execute(run.pk, worker_id=worker_id) is None
    assert not Contact.objects.filter(city=TAG).exists()


def test_an_ended_run_cannot_be_stopped_or_deleted(fire, contacts, operator):
    from django.core.exceptions import ValidationError

    run = execute(fire())
    with pytest.raises(ValidationError, match="already ended"):
        actions.stop_run(user=operator, number=run.pk)
    with pytest.raises(ValidationError, match="already started"):
        actions.delete_run(user=operator, number=run.pk)


def test_a_draft_run_can_be_deleted(fire, operator):
    run = fire()
    actions.delete_run(user=operator, number=run.pk)
    assert not ProcessRun.objects.filter(pk=run.pk).exists()
    assert LogEntry.objects.filter(message__contains=f"deleted run #{run.pk}").exists()


def test_a_failing_batch_is_rolled_back_and_the_run_fails_saying_why(fire, contacts):
    made = contacts(25)
    run = fire()

    def explode(ids):
        if made[10].pk in ids:
            raise RuntimeError("the ERP did not answer")

    TagContacts.during_batch = explode
    ended = execute(run, batch_size=10)
    assert ended.state == RunState.FAILED
    assert ended.processed == 10
    assert "the ERP did not answer" in ended.message
    assert f"after record {made[9].pk}" in ended.message
    assert Contact.objects.filter(city=TAG).count() == 10
    assert LogEntry.objects.filter(run=ended, level=LogEntry.Level.ERROR).exists()


def test_a_resumed_run_carries_on_above_its_cursor(fire, contacts):
    made = contacts(20)
    run = fire(log_level="all")
    # As if a worker had committed the first batch and died.
    Contact.objects.filter(pk__in=[c.pk for c in made[:8]]).update(city=TAG)
    ProcessRun.objects.filter(pk=run.pk).update(
        state=RunState.IN_PROGRESS, cursor=made[7].pk, processed=8, succeeded=8, total=20
    )
    ended = execute(run, batch_size=5)
    assert (ended.state, ended.processed, ended.succeeded) == (RunState.COMPLETED, 20, 20)
    assert sorted(ended.items.values_list("record_id", flat=True)) == [c.pk for c in made[8:]]
    assert LogEntry.objects.filter(run=run, message__contains="resumed").exists()


def test_a_run_held_by_a_live_worker_cannot_be_claimed_by_another(fire):
    run = fire()
    ProcessRun.objects.filter(pk=run.pk).update(state=RunState.IN_PROGRESS, worker_id="w1")
    assert engine.execute(run.pk, worker_id="w2") is None


def test_a_run_taken_over_meanwhile_leaves_the_batch_to_its_successor(fire, contacts):
    contacts(10)
    run = fire()

    def lose_claim(ids):
        ProcessRun.objects.filter(pk=run.pk).update(worker_id="successor")

    TagContacts.during_batch = lose_claim
    with registered(ApplicationServer.default()) as worker_id:
        assert engine.execute(run.pk, worker_id=worker_id, batch_size=5) is None
    assert not Contact.objects.filter(city=TAG).exists()
    run.refresh_from_db()
    assert run.processed == 0


def test_a_throttled_run_stops_at_its_cap_and_fires_again_after_the_delay(fire, contacts):
    contacts(25)
    throttle = {"max_records": 10, "restart_after": {"every": 5, "unit": "minutes"}}
    run = fire(schedule=EVERY_HOUR, throttle=throttle)
    task = run.task
    ended = execute(run, batch_size=4)
    assert (ended.state, ended.total, ended.processed) == (RunState.COMPLETED, 10, 10)
    assert ended.records_left
    task.refresh_from_db()
    assert (task.next_fire_at - ended.ended_at).total_seconds() == pytest.approx(300, abs=5)
    # The next firing carries on with the records left.
    (second,) = fire_due(task.next_fire_at)
    assert execute(second, batch_size=4).processed == 10
    (third,) = fire_due(task.refresh_from_db() or task.next_fire_at)
    last = execute(third, batch_size=4)
    assert (last.processed, last.records_left) == (5, False)
    assert Contact.objects.filter(city=TAG).count() == 25


def test_a_worker_shutting_down_hands_its_run_back_to_the_queue(fire, contacts):
    contacts(10)
    run = fire()
    DBTaskResult.objects.all().delete()
    engine.SHUTDOWN.set()
    try:
        ended = execute(run, batch_size=5)
    finally:
        engine.SHUTDOWN.clear()
    assert (ended.state, ended.worker_id) == (RunState.IN_PROGRESS, "")
    assert DBTaskResult.objects.get().args_kwargs["args"] == [run.pk]
    assert execute(ended).state == RunState.COMPLETED


def test_a_process_answering_for_other_records_fails_the_run(fire, contacts, monkeypatch):
    contacts(3)
    monkeypatch.setattr(TagContacts, "process_batch", lambda self, params, ids, **kw: [])
    ended = execute(fire())
    assert ended.state == RunState.FAILED
    assert "other records" in ended.message


def test_the_requester_gets_the_summary_by_e_mail_and_on_the_dashboard(
    fire, contacts, operator, mailoutbox, django_capture_on_commit_callbacks
):
    contacts(6, refused=1)
    run = fire()
    with django_capture_on_commit_callbacks(execute=True):
        execute(run)
    (mail,) = mailoutbox
    assert mail.to == [operator.email]
    assert f"Run #{run.pk}" in mail.subject
    assert "succeeded 5" in mail.body
    assert f"/runs/{run.pk}/" in mail.body
    notification = Notification.objects.get(user=operator)
    assert notification.link == f"/runs/{run.pk}/"


def test_the_summary_goes_through_the_mail_app_and_respects_the_suppression_list(
    fire, operator, mailoutbox, django_capture_on_commit_callbacks
):
    from nightshift.mail.models import EmailMessage, SuppressionEntry

    run = fire()
    with django_capture_on_commit_callbacks(execute=True):
        execute(run)
    assert EmailMessage.objects.get(to_addresses=operator.email).subject == mailoutbox[0].subject
    SuppressionEntry.objects.create(email=operator.email, reason="asked to be left alone")
    second = fire(name="Tag again")
    with django_capture_on_commit_callbacks(execute=True):
        execute(second)
    assert len(mailoutbox) == 1
    assert LogEntry.objects.get(run=second, message__contains="suppression list")


def test_no_e_mail_when_the_definition_does_not_ask_for_one(
    fire, operator, mailoutbox, django_capture_on_commit_callbacks
):
    run = fire(notify_on_completion=False)
    with django_capture_on_commit_callbacks(execute=True):
        execute(run)
    assert mailoutbox == []
    assert Notification.objects.filter(user=operator).count() == 1


def test_a_run_now_task_is_completed_once_fired(fire):
    run = fire()
    run.task.refresh_from_db()
    assert run.task.state == TaskState.COMPLETED


class Lines(TagContacts):
    """Records that are not rows of a table: the numbered lines of a text, as an import has."""

    key = "tests.lines"
    text = "alpha\nbeta\n\ngamma\ndelta"
    completed: list[int] = []

    def _lines(self):
        return list(enumerate(self.text.split("\n"), start=1))

    def count(self, params, *, as_of, after):
        return sum(1 for number, _line in self._lines() if number > after)

    def next_keys(self, params, *, as_of, after, limit):
        return [number for number, _line in self._lines() if number > after][:limit]

    def process_batch(self, params, ids, *, as_of, run_number):
        lines = dict(self._lines())
        return [Outcome(n, bool(lines[n]), "" if lines[n] else "the line is empty") for n in ids]

    def complete(self, params, *, as_of, run_number):
        if "fail" in self.text:
            raise ProcessFailed("The file could not be assembled: disk full.")
        Lines.completed.append(run_number)


@pytest.fixture
def lines(define):
    Lines.completed = []
    with register_temporarily(Lines):
        yield lambda **fields: define(process_key=Lines.key, **fields)


def test_a_process_can_number_its_own_records_and_finish_its_output(lines, operator):
    definition = lines(log_level="all")
    task = actions.submit_definition(user=operator, unified_code=definition.unified_code)
    (run,) = fire_due(task.next_fire_at)
    ended = execute(run, batch_size=2)
    assert (ended.total, ended.succeeded, ended.failed) == (5, 4, 1)
    assert ended.cursor == 5
    assert list(ended.items.filter(ok=False).values_list("record_id", "message")) == [
        (3, "the line is empty")
    ]
    assert Lines.completed == [ended.pk]


def test_a_process_failing_for_a_reason_ends_the_run_failed_with_that_reason_only(
    lines, operator, monkeypatch
):
    monkeypatch.setattr(Lines, "text", "fail\nagain")
    definition = lines()
    task = actions.submit_definition(user=operator, unified_code=definition.unified_code)
    (run,) = fire_due(task.next_fire_at)
    ended = execute(run)
    assert ended.state == RunState.FAILED
    assert ended.message == "The file could not be assembled: disk full."
    assert Lines.completed == []


def test_a_process_may_choose_its_batch_size(lines, operator, monkeypatch):
    monkeypatch.setattr(Lines, "batch_size", 2)
    definition = lines()
    task = actions.submit_definition(user=operator, unified_code=definition.unified_code)
    (run,) = fire_due(task.next_fire_at)
    seen = []
    ended = execute(run, progress=lambda r: seen.append(r.processed))
    assert ended.processed == 5
    assert seen == [0, 2, 4, 5]
