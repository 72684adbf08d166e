"""The default cadence of the built-in processes in the automatic agenda.

A process class may declare ``default_agenda``: the scheduling settings (the JSON the
scheduler reads) it should run on when an administrator has not chosen otherwise, e.g. daily
at 08:00 for the birthdays. ``nightshift seed_agenda`` gives each registered process that
declares one and has no agenda entry yet that entry; an entry an administrator set is never
overwritten. It is a command rather than a ``post_migrate`` hook so that a migrated database
(a test database among them) starts with the agenda empty, as the engine's tests expect.
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
