"""Run a process the way the scheduler does: a definition, submitted "now", fired, executed by
the engine. For the processes' end-to-end tests."""

from __future__ import annotations

from typing import Any

from nightshift.runs import actions, engine
from nightshift.runs.models import LogLevel, ProcessRun
from nightshift.runs.scheduler import fire_task_now


def run_process(user, key: str, parameters: dict[str, Any], **fields: Any) -> ProcessRun:
    """Create, submit and execute a definition of ``key``; the run as it ended."""
    definition = actions.create_definition(
        user=user,
        process_key=key,
        name=fields.pop("name", key),
        parameters=parameters,
        schedule={"mode": "now"},
        log_level=fields.pop("log_level", LogLevel.ALL),
        **fields,
    )
    task = actions.submit_definition(user=user, unified_code=definition.unified_code)
    run = fire_task_now(task)
    assert run is not None
    ended = engine.execute(run.pk, worker_id="test-worker", batch_size=fields.get("batch", 50))
    assert ended is not None
    return ended


def items(run: ProcessRun) -> dict[int, tuple[bool, str]]:
    return {item.record_id: (item.ok, item.message) for item in run.items.all()}
