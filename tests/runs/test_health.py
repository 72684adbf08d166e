"""/healthz reports the scheduler's and the workers' heartbeats."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from nightshift.runs.models import ApplicationServer, SchedulerState, Worker


def health(client: Client) -> dict:
    response = client.get("/healthz")
    assert response.status_code == 200
    return response.json()


def test_without_a_scheduler_tick_or_a_worker_the_service_is_degraded(client, db):
    report = health(client)
    assert report["status"] == "degraded"
    assert report["scheduler"] == {"status": "never ticked"}
    assert report["workers"] == {"alive": 0, "per_server": {"default": 0}}


def test_a_recent_tick_and_a_live_worker_make_it_ok(client, db):
    SchedulerState.objects.filter(pk=1).update(last_tick_at=timezone.now())
    Worker.objects.create(worker_id="w", server=ApplicationServer.default(), hostname="h", pid=1)
    report = health(client)
    assert report["status"] == "ok"
    assert report["scheduler"]["status"] == "ok"
    assert report["workers"]["per_server"] == {"default": 1}


def test_a_silent_scheduler_and_a_silent_worker_are_reported(client, db, settings):
    long_ago = timezone.now() - timedelta(seconds=settings.NIGHTSHIFT_WORKER_TIMEOUT + 1)
    SchedulerState.objects.filter(pk=1).update(last_tick_at=long_ago)
    Worker.objects.create(
        worker_id="w", server=ApplicationServer.default(), hostname="h", pid=1, last_seen=long_ago
    )
    report = health(client)
    assert report["status"] == "degraded"
    assert report["scheduler"]["status"] == "stale"
    assert report["workers"]["alive"] == 0


def test_a_scheduler_in_standby_is_not_a_fault(client, db):
    SchedulerState.objects.filter(pk=1).update(running=False)
    Worker.objects.create(worker_id="w", server=ApplicationServer.default(), hostname="h", pid=1)
    assert health(client)["status"] == "ok"


def test_engine_records_are_in_the_admin_read_only_but_servers_are_maintained_there(
    client, administrator
):
    from tests.conftest import PASSWORD

    client.login(username=administrator.username, password=PASSWORD)
    for model in ("rundefinition", "scheduledtask", "processrun", "logentry", "worker"):
        page = client.get(f"/admin/runs/{model}/")
        assert page.status_code == 200, model
        assert client.get(f"/admin/runs/{model}/add/").status_code == 403, model
    assert client.get("/admin/runs/applicationserver/add/").status_code == 200
