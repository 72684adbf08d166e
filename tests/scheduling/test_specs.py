"""Scheduling settings → firings: every mode, start/end bounds, and DST in two zones."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from nightshift.scheduling.specs import (
    ScheduleError,
    firings,
    parse_schedule,
    place_on_timeline,
    preview,
)

LISBON = ZoneInfo("Europe/Lisbon")
NEW_YORK = ZoneInfo("America/New_York")
JAN_1 = datetime(2026, 1, 1, tzinfo=UTC)


def iso(instants):
    return [instant.isoformat() for instant in instants]


def test_run_now_fires_once_at_submission():
    spec = parse_schedule({"mode": "now", "timezone": "UTC"})
    assert preview(spec, 5, after=JAN_1) == [JAN_1]


def test_run_once_fires_at_its_local_time_and_never_again():
    spec = parse_schedule({"mode": "once", "at": "2026-06-01T03:00", "timezone": "Europe/Lisbon"})
    assert iso(preview(spec, 5, after=JAN_1)) == ["2026-06-01T03:00:00+01:00"]
    assert preview(spec, 5, after=datetime(2026, 7, 1, tzinfo=UTC)) == []


def test_repeat_every_minutes_is_elapsed_time_across_dst():
    spec = parse_schedule(
        {
            "mode": "repeat",
            "every": 30,
            "unit": "minutes",
            "timezone": "Europe/Lisbon",
            "start": {"at": "2026-03-29T00:00"},
        }
    )
    found = preview(spec, 4, after=datetime(2026, 3, 28, 23, 59, tzinfo=UTC))
    gaps = {b.astimezone(UTC) - a.astimezone(UTC) for a, b in itertools.pairwise(found)}
    assert gaps == {timedelta(minutes=30)}
    assert iso(found)[:3] == [
        "2026-03-29T00:00:00+00:00",
        "2026-03-29T00:30:00+00:00",
        "2026-03-29T02:00:00+01:00",  # 01:00 UTC: the clocks jumped, 30 real minutes later
    ]


def test_repeat_daily_keeps_the_wall_clock_time_across_dst():
    spec = parse_schedule(
        {
            "mode": "repeat",
            "every": 1,
            "unit": "days",
            "timezone": "America/New_York",
            "start": {"at": "2026-03-07T09:00"},
        }
    )
    found = preview(spec, 3, after=datetime(2026, 3, 7, tzinfo=UTC))
    assert [f.astimezone(NEW_YORK).hour for f in found] == [9, 9, 9]
    assert iso(found)[1:] == ["2026-03-08T09:00:00-04:00", "2026-03-09T09:00:00-04:00"]


def test_repeat_starting_after_a_period_counts_from_submission():
    spec = parse_schedule(
        {
            "mode": "repeat",
            "every": 2,
            "unit": "hours",
            "timezone": "UTC",
            "start": {"after": {"every": 10, "unit": "minutes"}},
            "end": {"after": {"every": 5, "unit": "hours"}},
        }
    )
    submitted = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert iso(preview(spec, 10, after=submitted, anchor=submitted)) == [
        "2026-11-22T10:10:00+00:00",
        "2026-11-22T12:10:00+00:00",
        "2026-11-22T14:10:00+00:00",
    ]


def test_repeat_ends_on_a_date():
    spec = parse_schedule(
        {
            "mode": "repeat",
            "every": 1,
            "unit": "months",
            "timezone": "UTC",
            "start": {"at": "2026-01-31T06:00"},
            "end": {"on": "2026-06-30T00:00"},
        }
    )
    # RFC 5545: a month without day 31 is skipped rather than moved.
    assert [f.month for f in preview(spec, 10, after=JAN_1)] == [1, 3, 5]


def test_advanced_weekly_on_chosen_weekdays():
    spec = parse_schedule(
        {
            "mode": "advanced",
            "start": "2026-01-01T07:15",
            "timezone": "UTC",
            "repeat": {"weekly": {"weekdays": ["MO", "FR"]}},
        }
    )
    found = preview(spec, 6, after=JAN_1)
    assert {f.strftime("%a") for f in found} == {"Mon", "Fri"}
    assert all((f.hour, f.minute) == (7, 15) for f in found)


def test_advanced_monthly_on_the_nth_weekday():
    spec = parse_schedule(
        {
            "mode": "advanced",
            "start": "2026-01-01T08:00",
            "timezone": "UTC",
            "repeat": {"monthly": {"every": 2, "nth": 2, "weekday": "TU"}},
        }
    )
    assert [f.date().isoformat() for f in preview(spec, 3, after=JAN_1)] == [
        "2026-01-13",
        "2026-03-10",
        "2026-05-12",
    ]


def test_advanced_yearly_first_sunday_of_january():
    spec = parse_schedule(
        {
            "mode": "advanced",
            "start": "2026-01-01T02:00",
            "timezone": "America/Sao_Paulo",
            "repeat": {"yearly": {"month": 1, "nth": 1, "weekday": "SU"}},
            "end": {"on": "2028-12-31T00:00"},
        }
    )
    assert [f.date().isoformat() for f in preview(spec, 5, after=JAN_1)] == [
        "2026-01-04",
        "2027-01-03",
        "2028-01-02",
    ]


def test_advanced_yearly_29_february_fires_in_leap_years_only():
    spec = parse_schedule(
        {
            "mode": "advanced",
            "start": "2026-01-01T00:00",
            "timezone": "UTC",
            "repeat": {"yearly": {"month": 2, "day": 29}},
        }
    )
    assert [f.year for f in preview(spec, 2, after=JAN_1)] == [2028, 2032]


def test_cron_is_evaluated_on_local_wall_time():
    spec = parse_schedule(
        {"mode": "cron", "expression": "30 6 * * 1-5", "timezone": "Europe/Lisbon"}
    )
    found = preview(spec, 5, after=datetime(2026, 3, 27, tzinfo=UTC))
    assert iso(found)[:2] == ["2026-03-27T06:30:00+00:00", "2026-03-30T06:30:00+01:00"]


def test_rrule_text_for_power_users():
    spec = parse_schedule(
        {
            "mode": "rrule",
            "rrule": "FREQ=MONTHLY;BYDAY=-1FR;COUNT=2",
            "start": "2026-01-01T18:00",
            "timezone": "UTC",
        }
    )
    assert [f.date().isoformat() for f in preview(spec, 5, after=JAN_1)] == [
        "2026-01-30",
        "2026-02-27",
    ]


@pytest.mark.parametrize(
    ("zone", "wall", "expected"),
    [
        # spring forward: 01:00→02:00 in Lisbon, 02:00→03:00 in New York
        ("Europe/Lisbon", datetime(2026, 3, 29, 1, 30), "2026-03-29T02:00:00+01:00"),
        ("America/New_York", datetime(2026, 3, 8, 2, 30), "2026-03-08T03:00:00-04:00"),
        # fall back: the repeated hour is taken once, at its first occurrence
        ("Europe/Lisbon", datetime(2026, 10, 25, 1, 30), "2026-10-25T01:30:00+01:00"),
        ("America/New_York", datetime(2026, 11, 1, 1, 30), "2026-11-01T01:30:00-04:00"),
    ],
)
def test_dst_gap_fires_at_the_jump_and_overlap_at_first_occurrence(zone, wall, expected):
    assert place_on_timeline(wall, ZoneInfo(zone)).isoformat() == expected


@pytest.mark.parametrize(
    ("zone", "start", "day"),
    [
        ("Europe/Lisbon", "2026-10-20T01:30", "2026-10-25"),
        ("America/New_York", "2026-10-28T01:30", "2026-11-01"),
    ],
)
def test_daily_schedule_fires_once_on_the_fall_back_night(zone, start, day):
    spec = parse_schedule(
        {"mode": "advanced", "start": start, "timezone": zone, "repeat": {"daily": {"every": 1}}}
    )
    found = preview(spec, 10, after=datetime.fromisoformat(start).replace(tzinfo=UTC))
    on_that_day = [f for f in found if f.date().isoformat() == day]
    assert len(on_that_day) == 1


def test_daily_schedule_in_the_spring_gap_fires_at_the_jump():
    spec = parse_schedule(
        {
            "mode": "advanced",
            "start": "2026-03-27T02:30",
            "timezone": "America/New_York",
            "repeat": {"daily": {"every": 1}},
        }
    )
    found = iso(preview(spec, 14, after=datetime(2026, 3, 1, tzinfo=UTC)))
    assert "2026-03-08T03:00:00-04:00" not in found  # before the start
    spec = parse_schedule(
        {
            "mode": "advanced",
            "start": "2026-03-06T02:30",
            "timezone": "America/New_York",
            "repeat": {"daily": {"every": 1}},
        }
    )
    found = iso(preview(spec, 4, after=datetime(2026, 3, 6, tzinfo=UTC)))
    assert found[2] == "2026-03-08T03:00:00-04:00"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {
                "mode": "advanced",
                "start": "2026-01-01T00:00",
                "repeat": {"weekly": {"weekdays": []}},
            },
            "repeat.weekly.weekdays",
        ),
        (
            {
                "mode": "advanced",
                "start": "2026-01-01T00:00",
                "repeat": {"yearly": {"month": 4, "day": 31}},
            },
            "month 4 has no day 31",
        ),
        (
            {
                "mode": "advanced",
                "start": "2026-01-01T00:00",
                "repeat": {"monthly": {"day": 3, "nth": 1, "weekday": "MO"}},
            },
            "either “day”, or both “nth” and “weekday”",
        ),
        ({"mode": "repeat", "every": 0, "unit": "days", "start": {"at": "2026-01-01"}}, "every"),
        (
            {"mode": "repeat", "every": 1, "unit": "fortnights", "start": {"at": "2026-01-01"}},
            "unit",
        ),
        ({"mode": "repeat", "every": 1, "unit": "days", "start": {}}, "start: give “at” or"),
        ({"mode": "cron", "expression": "61 * * * *"}, "invalid cron expression"),
        (
            {"mode": "rrule", "rrule": "FREQ=SOMETIMES", "start": "2026-01-01T00:00"},
            "invalid RRULE",
        ),
        (
            {"mode": "once", "at": "2026-01-01T00:00", "timezone": "Mars/Olympus"},
            "unknown time zone “Mars/Olympus”",
        ),
        ({"mode": "whenever"}, "mode"),
    ],
)
def test_invalid_schedules_name_the_field(data, message):
    with pytest.raises(ScheduleError, match=message):
        parse_schedule(data)


weekday = st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"])
zones = st.sampled_from(
    [
        "UTC",
        "Europe/Lisbon",
        "America/New_York",
        "America/Sao_Paulo",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
    ]
)
repeats = st.one_of(
    st.builds(lambda n: {"daily": {"every": n}}, st.integers(1, 40)),
    st.builds(
        lambda days: {"weekly": {"weekdays": days}}, st.lists(weekday, min_size=1, unique=True)
    ),
    st.builds(
        lambda n, d: {"monthly": {"every": n, "day": d}}, st.integers(1, 12), st.integers(1, 28)
    ),
    st.builds(
        lambda n, k, w: {"monthly": {"every": n, "nth": k, "weekday": w}},
        st.integers(1, 6),
        st.sampled_from([1, 2, 3, 4, -1]),
        weekday,
    ),
    st.builds(
        lambda m, d: {"yearly": {"month": m, "day": d}}, st.integers(1, 12), st.integers(1, 28)
    ),
)
moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 1, 1))


@settings(max_examples=150, deadline=None)
@given(
    repeat=repeats,
    zone=zones,
    start=moments,
    after=moments,
    end_days=st.none() | st.integers(1, 2000),
)
def test_advanced_previews_increase_stay_in_bounds_and_match_the_rule(
    repeat, zone, start, after, end_days
):
    data = {"mode": "advanced", "start": start.isoformat(), "timezone": zone, "repeat": repeat}
    if end_days:
        data["end"] = {"on": (start + timedelta(days=end_days)).isoformat()}
    spec = parse_schedule(data)
    tz = ZoneInfo(zone)
    after = after.replace(tzinfo=UTC)
    found = preview(spec, 8, after=after)
    assert all(a < b for a, b in itertools.pairwise(found))
    start_instant = place_on_timeline(start, tz)
    for instant in found:
        assert instant > after
        assert instant >= start_instant
        if end_days:
            assert instant <= place_on_timeline(start + timedelta(days=end_days), tz)
        local = instant.astimezone(tz)
        kind, rule = next(iter(repeat.items()))
        if kind == "weekly":
            assert local.strftime("%a")[:2].upper() in rule["weekdays"]
        if kind in {"monthly", "yearly"} and "day" in rule:
            assert local.day == rule["day"]
        if kind == "yearly":
            assert local.month == rule["month"]


@settings(max_examples=100, deadline=None)
@given(
    every=st.integers(1, 500),
    unit=st.sampled_from(["seconds", "minutes", "hours"]),
    start=moments,
    after=moments,
)
def test_elapsed_repeats_are_evenly_spaced_and_skip_ahead_exactly(every, unit, start, after):
    spec = parse_schedule(
        {
            "mode": "repeat",
            "every": every,
            "unit": unit,
            "timezone": "UTC",
            "start": {"at": start.isoformat()},
        }
    )
    after = after.replace(tzinfo=UTC)
    found = preview(spec, 5, after=after)
    step = timedelta(**{unit: every})
    assert found[0] > after
    assert found[0] - step <= max(after, start.replace(tzinfo=UTC) - step)
    assert all(b - a == step for a, b in itertools.pairwise(found))
    assert (found[0] - start.replace(tzinfo=UTC)) % step == timedelta(0)


def test_firings_without_after_starts_at_the_start():
    spec = parse_schedule(
        {
            "mode": "advanced",
            "start": "2026-05-05T05:05",
            "timezone": "UTC",
            "repeat": {"daily": {"every": 3}},
        }
    )
    first = next(firings(spec, anchor=JAN_1))
    assert first.isoformat() == "2026-05-05T05:05:00+00:00"


def test_preview_command_prints_json(capsys):
    schedule = json.dumps({"mode": "cron", "expression": "0 3 * * *", "timezone": "UTC"})
    call_command(
        "schedule",
        "preview",
        "--schedule",
        schedule,
        "-n",
        "2",
        "--from",
        "2026-11-22T00:00",
        "--json",
    )
    assert json.loads(capsys.readouterr().out) == [
        "2026-11-22T03:00:00+00:00",
        "2026-11-23T03:00:00+00:00",
    ]


def test_preview_command_reports_the_bad_field():
    with pytest.raises(CommandError, match=r"repeat\.weekly\.weekdays"):
        call_command(
            "schedule",
            "preview",
            "--schedule",
            '{"mode": "advanced", "start": "2026-01-01T00:00",'
            ' "repeat": {"weekly": {"weekdays": []}}}',
        )
