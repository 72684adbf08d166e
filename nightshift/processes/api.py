"""``GET /api/v1/processes``: the process types run definitions can use, with the JSON schema
of their parameters (what clients build definition forms from)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from nightshift.processes.registry import all_processes

router = Router(tags=["processes"])


class ProcessOut(Schema):
    key: str
    name: str
    description: str
    parameters: dict[str, Any]


@router.get("/processes", response=list[ProcessOut], summary="List process types")
def list_processes(request: HttpRequest) -> list[dict[str, Any]]:
    """Every registered process, sorted by key; not paginated (there are a handful)."""
    return [
        {
            "key": process.key,
            "name": str(process.name),
            "description": str(process.description),
            "parameters": process.parameter_schema(),
        }
        for process in all_processes()
    ]
