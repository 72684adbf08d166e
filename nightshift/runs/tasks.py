"""The one background task of the engine: execute a process run on a worker of its server."""

from __future__ import annotations

from django.tasks import task

from nightshift.runs import engine
from nightshift.runs.models import ProcessRun
from nightshift.runs.workers import current_worker_id


@task()
def execute_run(run_id: int) -> dict | None:
    run = engine.execute(run_id, worker_id=current_worker_id())
    return run.summary() if run else None


def enqueue_run(run: ProcessRun) -> None:
    """Queue ``run`` on its application server, in the caller's transaction: the queue row
    commits with the run it starts, or neither does."""
    execute_run.using(queue_name=run.server.name).enqueue(run.pk)
