"""The default cadence of the built-in processes in the automatic agenda.

A process class may declare ``default_agenda``: the scheduling settings (the JSON the
scheduler reads) it should run on when an administrator has not chosen otherwise, e.g. daily
at 02:00 for the birthdays. After every ``migrate`` each registered process that declares one
and has no agenda entry yet gets it; an entry an administrator set or removed afterwards is
never overwritten (a removed one comes back only on the next migrate, so remove it by giving
the process another schedule rather than none).
"""

from __future__ import annotations

from typing import Any


def seed_default_agenda(using: str = "default", **kwargs: Any) -> list[str]:
    """Create the missing agenda entries; returns the process keys it created."""
    from nightshift.processes.registry import all_processes
    from nightshift.runs.models import AgendaEntry
    from nightshift.scheduling.specs import parse_schedule

    existing = set(AgendaEntry.objects.using(using).values_list("process_key", flat=True))
    created = []
    for process in all_processes():
        schedule = getattr(process, "default_agenda", None)
        if not schedule or process.key in existing:
            continue
        spec = parse_schedule(schedule)
        AgendaEntry.objects.using(using).create(
            process_key=process.key, schedule=spec.model_dump(mode="json")
        )
        created.append(process.key)
    return created
