"""What /healthz says of the engine: the scheduler's last tick and the workers' heartbeats."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from nightshift.runs.models import ApplicationServer, SchedulerState


def heartbeats() -> dict:
    now = timezone.now()
    timeout = timedelta(seconds=settings.NIGHTSHIFT_WORKER_TIMEOUT)
    state = SchedulerState.get()
    if not state.running:
        scheduler = {"status": "standby"}
    elif state.last_tick_at is None:
        scheduler = {"status": "never ticked"}
    else:
        age = (now - state.last_tick_at).total_seconds()
        stale = age > timeout.total_seconds()
        scheduler = {"status": "stale" if stale else "ok", "last_tick_seconds_ago": round(age, 1)}
    servers = ApplicationServer.objects.annotate(
        alive=Count("worker", filter=Q(worker__last_seen__gte=now - timeout))
    ).values_list("name", "alive")
    per_server = dict(servers)
    return {
        "scheduler": scheduler,
        "workers": {"alive": sum(per_server.values()), "per_server": per_server},
    }
