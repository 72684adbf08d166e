"""The automatic agenda's default cadence of the account routines (TOTVS "Agenda Automática").

Each routine declares its entry as ``default_agenda``; ``nightshift agenda_defaults`` puts the
declared entries on the agenda where a process has none (an administrator's choice is kept),
and definitions that follow the agenda fire on them.
"""

from __future__ import annotations

# process key -> scheduling settings (docs/scheduling.md). Night hours, staggered so that the
# routines reading the ERP do not run at the same time; the movement report lands on Monday
# morning, class transitions on the first of the month once the month's purchases are in.
DEFAULT_AGENDA: dict[str, dict] = {
    "accounts.complementary_data": {
        "mode": "advanced",
        "start": "2026-01-01T02:00",
        "repeat": {"daily": {"every": 1}},
    },
    "accounts.status": {
        "mode": "advanced",
        "start": "2026-01-01T03:00",
        "repeat": {"daily": {"every": 1}},
    },
    "accounts.movement_monitoring": {
        "mode": "advanced",
        "start": "2026-01-05T06:00",
        "repeat": {"weekly": {"every": 1, "weekdays": ["MO"]}},
    },
    "accounts.class_transition": {
        "mode": "advanced",
        "start": "2026-01-01T04:00",
        "repeat": {"monthly": {"every": 1, "day": 1}},
    },
}
