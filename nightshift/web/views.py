from __future__ import annotations

from django.db import connection
from django.http import JsonResponse


def healthz(request):
    """Liveness for load balancers and `make run`: the database answers a query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception as exc:  # noqa: BLE001 — any failure means unhealthy; say which
        database = f"error: {exc.__class__.__name__}"
    healthy = database == "ok"
    return JsonResponse({"status": "ok" if healthy else "error", "database": database},
                        status=200 if healthy else 503)
