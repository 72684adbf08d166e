"""Fixtures of the import tests: files written in the tests, uploads, and running an import
to its end the way a worker does."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from nightshift.imports import actions
from nightshift.runs import engine
from nightshift.runs.models import ApplicationServer, ProcessRun, SchedulerState
from nightshift.runs.scheduler import fire_task_now
from nightshift.runs.workers import registered


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.NIGHTSHIFT_IMPORT_DIR = tmp_path / "imports"
    settings.NIGHTSHIFT_IMPORT_DIR.mkdir()


@pytest.fixture
def scheduler_running(db):
    SchedulerState.objects.update_or_create(pk=1, defaults={"running": True})


@pytest.fixture
def upload(operator):
    """Upload ``content`` (bytes) under ``name`` as the operator."""

    def make(content: bytes, name: str = "file.csv", **kwargs):
        return actions.upload_file(user=operator, stream=io.BytesIO(content), name=name, **kwargs)

    return make


def execute(run: ProcessRun, **kwargs) -> ProcessRun:
    with registered(ApplicationServer.default()) as worker_id:
        ended = engine.execute(run.pk, worker_id=worker_id, **kwargs)
    assert ended is not None
    return ended


@pytest.fixture
def run_import(operator, upload, scheduler_running):
    """Upload a file, start its import and execute the run to its end; the ended run."""

    def make(
        content: bytes,
        entity: str = "contacts",
        name: str = "file.csv",
        *,
        batch_size: int | None = None,
        upload_options: dict | None = None,
        log_level: str = "errors",
        **options,
    ) -> ProcessRun:
        uploaded = upload(content, name, **(upload_options or {}))
        task = actions.start_import(
            user=operator, entity=entity, upload_id=uploaded.pk, log_level=log_level, **options
        )
        run = fire_task_now(task)
        return execute(run, batch_size=batch_size)

    return make


def write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path
