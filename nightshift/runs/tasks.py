"""The one background task of the engine: execute a process run on a worker of its server."""

from __future__ import annotations

from django.tasks import task
from django.tasks.signals import task_enqueued
from django.utils.json import normalize_json

from nightshift.runs import engine
from nightshift.runs.models import ApplicationServer, ProcessRun
from nightshift.runs.workers import current_worker_id


@task()
def execute_run(run_id: int) -> dict | None:
    run = engine.execute(run_id, worker_id=current_worker_id())
    return run.summary() if run else None


def fail_task_results(run: ProcessRun, *, reason: str) -> int:
    """End as failed the queue rows still marked running for ``run`` (their worker died)."""
    from django.tasks import TaskResultStatus
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING,
        task_path=execute_run.module_path,
        args_kwargs__args__0=run.pk,
    ).update(
        status=TaskResultStatus.FAILED,
        finished_at=timezone.now(),
        exception_class_path="nightshift.runs.WorkerLost",
        traceback=reason,
    )


def enqueue_run(run: ProcessRun) -> None:
    """Queue ``run`` on its application server, in the caller's transaction: the queue row
    commits with the run it starts, or neither does."""
    execute_run.using(queue_name=run.server.name).enqueue(run.pk)


def enqueue_runs(runs: list[ProcessRun]) -> None:
    """Queue many runs as ``enqueue_run`` queues each, with one INSERT of their queue rows
    (the scheduler's burst: one INSERT per run was its bottleneck).

    Writes the row django-tasks-db's ``DatabaseBackend.enqueue`` writes (the package is pinned
    to a minor version for this) and sends the same ``task_enqueued`` signal per run.
    """
    if not runs:
        return
    from django_tasks_db.models import DBTaskResult, get_date_max

    names = dict(
        ApplicationServer.objects.filter(pk__in={run.server_id for run in runs}).values_list(
            "pk", "name"
        )
    )
    queues = {pk: execute_run.using(queue_name=name) for pk, name in names.items()}
    backend = execute_run.get_backend()
    for queued in queues.values():
        backend.validate_task(queued)
    rows = []
    for run in runs:
        queued = queues[run.server_id]
        rows.append(
            DBTaskResult(
                id=backend._get_id(),
                args_kwargs=normalize_json({"args": [run.pk], "kwargs": {}}),
                priority=queued.priority,
                task_path=queued.module_path,
                queue_name=queued.queue_name,
                # What the package's pre_save handler sets; bulk_create sends no pre_save.
                run_after=queued.run_after or get_date_max(),
                backend_name=backend.alias,
            )
        )
    results = DBTaskResult.objects.bulk_create(rows)
    for result in results:
        task_enqueued.send(type(backend), task_result=result.task_result)
