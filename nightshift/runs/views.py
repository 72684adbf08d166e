"""The engine's pages: thin views that parse input, call one action and render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from nightshift.runs.models import ProcessRun


@login_required
@permission_required("runs.view_processrun", raise_exception=True)
def run_detail(request: HttpRequest, number: int) -> HttpResponse:
    run = get_object_or_404(
        ProcessRun.objects.select_related("definition", "server", "requested_by"), pk=number
    )
    return render(request, "runs/run_detail.html", {"run": run})
