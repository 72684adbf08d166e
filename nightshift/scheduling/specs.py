"""Scheduling settings → firing instants. Pure functions on aware datetimes; no database.

One JSON shape serves the UI, the API and the CLI. Its ``mode`` picks one of:

- ``now`` — fires once, at submission.
- ``once`` — fires once at ``at`` (local wall time in ``timezone``).
- ``repeat`` — every ``every`` ``unit`` (seconds … years), starting ``start`` (a wall time
  ``{"at": …}`` or a period after submission ``{"after": {"every": N, "unit": U}}``), ending
  never, ``{"on": …}`` or ``{"after": {...}}`` measured from the start.
- ``advanced`` — daily every N days; weekly on weekdays; monthly every N months on a day or
  on the n-th weekday; yearly on a date or the n-th weekday of a month; from ``start`` (wall
  time, which also gives the time of day), ending never or ``{"on": …}``.
- ``cron`` — a five-field cron expression, evaluated on local wall time.
- ``rrule`` — RFC 5545 RRULE text, from ``start``.

Time zones and DST (documented in docs/scheduling.md):

- Wall-clock schedules (once, days and longer, advanced, cron, rrule) are computed on local
  time in the schedule's IANA zone, then placed on the time line.
- A local time that does not exist (the spring-forward gap) fires at the first valid instant
  after it — the moment the clocks jump.
- A local time that happens twice (the fall-back hour) fires once, at its first occurrence.
- ``repeat`` in seconds, minutes or hours is elapsed time: every 15 minutes is 15 real
  minutes, also across a DST change.

>>> spec = parse_schedule({"mode": "advanced", "start": "2026-01-01T03:00",
...     "timezone": "Europe/Lisbon", "repeat": {"weekly": {"weekdays": ["MO", "TH"]}}})
>>> [f.isoformat() for f in preview(spec, 3, after=datetime(2026, 3, 1, tzinfo=UTC))]
['2026-03-02T03:00:00+00:00', '2026-03-05T03:00:00+00:00', '2026-03-09T03:00:00+00:00']
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Annotated, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from dateutil import rrule
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.utils.translation import gettext as _
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PositiveInt,
    Tag,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from nightshift.scheduling.validation import describe_error

Unit = Literal["seconds", "minutes", "hours", "days", "weeks", "months", "years"]
Weekday = Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
WEEKDAYS = {
    "MO": rrule.MO,
    "TU": rrule.TU,
    "WE": rrule.WE,
    "TH": rrule.TH,
    "FR": rrule.FR,
    "SA": rrule.SA,
    "SU": rrule.SU,
}
# Validation probes parse rules on naive wall time, which is what they describe.
_PROBE = datetime(2000, 1, 1)  # noqa: DTZ001
ELAPSED_UNITS = {"seconds", "minutes", "hours"}  # measured on the time line, not the wall


class ScheduleError(ValueError):
    """A schedule that cannot be used, with a message naming the field at fault."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    timezone: str = Field(default_factory=lambda: settings.TIME_ZONE)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                _("unknown time zone “%(zone)s” (use an IANA name)") % {"zone": value}
            ) from None
        return value

    @property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.timezone)


class Period(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    every: PositiveInt
    unit: Unit

    def delta(self) -> relativedelta:
        return relativedelta(**{self.unit: self.every})


class StartAt(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    at: datetime


class StartAfter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    after: Period


class EndNever(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    never: Literal[True] = True


class EndOn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    on: datetime


class EndAfter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    after: Period


def _keyed(*members: type[BaseModel]):
    """A union told apart by which key is present (``{"at": …}`` vs ``{"after": …}``), so a
    mistake is reported against the member the operator meant, not against every member."""
    keys = {next(iter(member.model_fields)): member for member in members}

    def key_of(value):
        if isinstance(value, dict):
            return next((key for key in keys if key in value), None)
        return next((key for key, member in keys.items() if isinstance(value, member)), None)

    tagged = tuple(Annotated[member, Tag(key)] for key, member in keys.items())
    choices = " or ".join(f"“{key}”" for key in keys)
    # The message is pydantic's (English); describe_error words it from the keys in context.
    discriminator = Discriminator(
        key_of,
        custom_error_type="missing_choice",
        custom_error_message=f"give {choices}",
        custom_error_context={"keys": list(keys)},
    )
    return Annotated[Union[tagged], discriminator]  # noqa: UP007 — built at runtime


Start = _keyed(StartAt, StartAfter)
AdvancedEnd = _keyed(EndNever, EndOn)


class Now(_Spec):
    mode: Literal["now"]


class Once(_Spec):
    mode: Literal["once"]
    at: datetime


class Repeat(_Spec):
    mode: Literal["repeat"]
    every: PositiveInt
    unit: Unit
    start: Start
    end: _keyed(EndNever, EndOn, EndAfter) = EndNever()


class Daily(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    every: PositiveInt = 1


class Weekly(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    every: PositiveInt = 1
    weekdays: list[Weekday] = Field(min_length=1)


class Monthly(BaseModel):
    """Every N months on ``day`` (1 to 31; a month without it is skipped) or on the ``nth``
    (1 to 5, or -1 for the last) ``weekday``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    every: PositiveInt = 1
    day: Annotated[int, Field(ge=1, le=31)] | None = None
    nth: Literal[1, 2, 3, 4, 5, -1] | None = None
    weekday: Weekday | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Monthly:
        by_day = self.day is not None
        by_weekday = self.nth is not None and self.weekday is not None
        if by_day == by_weekday or (self.nth is None) != (self.weekday is None):
            raise ValueError(_("give either “day”, or both “nth” and “weekday”"))
        return self


class Yearly(Monthly):
    """On ``month``/``day``, or on the ``nth`` ``weekday`` of ``month`` (e.g. 1st Sunday of
    January). 29 February fires in leap years only."""

    month: Annotated[int, Field(ge=1, le=12)]

    @model_validator(mode="after")
    def _date_exists(self) -> Yearly:
        longest = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][self.month - 1]
        if self.day is not None and self.day > longest:
            raise ValueError(
                _("month %(month)s has no day %(day)s") % {"month": self.month, "day": self.day}
            )
        return self


class DailyRepeat(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    daily: Daily


class WeeklyRepeat(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    weekly: Weekly


class MonthlyRepeat(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    monthly: Monthly


class YearlyRepeat(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    yearly: Yearly


class Advanced(_Spec):
    mode: Literal["advanced"]
    start: datetime
    repeat: _keyed(DailyRepeat, WeeklyRepeat, MonthlyRepeat, YearlyRepeat)
    end: AdvancedEnd = EndNever()


class Cron(_Spec):
    mode: Literal["cron"]
    expression: str
    start: datetime | None = None
    end: AdvancedEnd = EndNever()

    @field_validator("expression")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        try:
            CronSim(value, _PROBE)
        except CronSimError as exc:
            raise ValueError(_("invalid cron expression: %(error)s") % {"error": exc}) from None
        return value


class RRule(_Spec):
    mode: Literal["rrule"]
    rrule: str
    start: datetime

    @field_validator("rrule")
    @classmethod
    def _valid_rrule(cls, value: str) -> str:
        text = value.strip().removeprefix("RRULE:")
        if "DTSTART" in text.upper():
            raise ValueError(_("give the start in “start”, not DTSTART inside the rule"))
        try:
            rrule.rrulestr(text, dtstart=_PROBE)
        except (ValueError, TypeError) as exc:
            raise ValueError(_("invalid RRULE: %(error)s") % {"error": exc}) from None
        return text


Schedule = Annotated[Now | Once | Repeat | Advanced | Cron | RRule, Field(discriminator="mode")]
_adapter: TypeAdapter[Schedule] = TypeAdapter(Schedule)


def parse_schedule(data: dict) -> Now | Once | Repeat | Advanced | Cron | RRule:
    """Validate scheduling settings; errors name the field, e.g. ``repeat.weekly.weekdays``.

    >>> parse_schedule({"mode": "once", "at": "2026-12-01T03:00", "timezone": "UTC"}).mode
    'once'
    """
    try:
        return _adapter.validate_python(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = _location(error["loc"][1:]) or "mode"  # [0] is the mode tag
            problems.append(f"{where}: {describe_error(error)}")
        raise ScheduleError("; ".join(problems)) from None


# Pydantic puts union tags in error locations ("repeat.weekly.weekly.weekdays"); drop the
# repeated tag so the path reads as the JSON the operator wrote.
def _location(parts: tuple) -> str:
    path: list[str] = []
    for part in map(str, parts):
        if not path or path[-1] != part:
            path.append(part)
    return ".".join(path)


def place_on_timeline(wall: datetime, zone: tzinfo) -> datetime:
    """The instant a local wall time denotes, by the DST rules above.

    >>> lisbon = ZoneInfo("Europe/Lisbon")
    >>> place_on_timeline(datetime(2026, 3, 29, 1, 30), lisbon).isoformat()  # in the gap
    '2026-03-29T02:00:00+01:00'
    >>> place_on_timeline(datetime(2026, 10, 25, 1, 30), lisbon).isoformat()  # twice
    '2026-10-25T01:30:00+01:00'
    """
    naive = wall.replace(tzinfo=None)
    first = naive.replace(tzinfo=zone, fold=0)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive:
        return first
    # In a gap: fold=1 reads the wall time with the offset after the jump (an earlier instant),
    # fold=0 with the offset before it (a later one); the jump lies between the two.
    low = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = first.astimezone(UTC)
    after = high.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0).astimezone(zone)


def _local(value: datetime, zone: tzinfo) -> datetime:
    """A naive wall time in ``zone``: aware inputs are converted, naive ones taken as local."""
    if value.tzinfo is not None:
        return value.astimezone(zone).replace(tzinfo=None)
    return value


def _wall_rule(spec: Advanced | Repeat | RRule, start: datetime, until: datetime | None):
    if isinstance(spec, RRule):
        rule = rrule.rrulestr(spec.rrule, dtstart=start)
        return rule.replace(until=until) if until and not rule._until else rule
    if isinstance(spec, Repeat):
        freq = {
            "days": rrule.DAILY,
            "weeks": rrule.WEEKLY,
            "months": rrule.MONTHLY,
            "years": rrule.YEARLY,
        }[spec.unit]
        return rrule.rrule(freq, interval=spec.every, dtstart=start, until=until)
    repeat = spec.repeat
    if isinstance(repeat, DailyRepeat):
        return rrule.rrule(rrule.DAILY, interval=repeat.daily.every, dtstart=start, until=until)
    if isinstance(repeat, WeeklyRepeat):
        days = [WEEKDAYS[d] for d in repeat.weekly.weekdays]
        return rrule.rrule(
            rrule.WEEKLY, interval=repeat.weekly.every, byweekday=days, dtstart=start, until=until
        )
    rule = repeat.monthly if isinstance(repeat, MonthlyRepeat) else repeat.yearly
    freq = rrule.MONTHLY if isinstance(repeat, MonthlyRepeat) else rrule.YEARLY
    extra: dict = {"bymonth": rule.month} if isinstance(rule, Yearly) else {}
    if rule.day is not None:
        extra["bymonthday"] = rule.day
    else:
        extra["byweekday"] = WEEKDAYS[rule.weekday](rule.nth)
    return rrule.rrule(freq, interval=rule.every, dtstart=start, until=until, **extra)


def _start_and_end(spec, anchor: datetime) -> tuple[datetime, datetime | None]:
    """Start and end instants (aware) of a repeating schedule submitted at ``anchor``."""
    zone = spec.zone
    start_wall = spec.start
    if isinstance(start_wall, StartAt):
        start = place_on_timeline(_local(start_wall.at, zone), zone)
    elif isinstance(start_wall, StartAfter):
        start = anchor.astimezone(zone).replace(tzinfo=None) + start_wall.after.delta()
        start = place_on_timeline(start, zone)
    elif start_wall is None:
        start = anchor
    else:
        start = place_on_timeline(_local(start_wall, zone), zone)
    end = spec.end if not isinstance(spec, RRule) else EndNever()
    if isinstance(end, EndOn):
        return start, place_on_timeline(_local(end.on, zone), zone)
    if isinstance(end, EndAfter):
        local_start = start.astimezone(zone).replace(tzinfo=None)
        return start, place_on_timeline(local_start + end.after.delta(), zone)
    return start, None


def firings(spec, *, anchor: datetime, after: datetime | None = None) -> Iterator[datetime]:
    """Firing instants of ``spec`` in order, for a schedule submitted at ``anchor``; with
    ``after``, only those strictly later (found without walking the ones before)."""
    zone = spec.zone
    # Compare in UTC: Python compares (and subtracts) datetimes sharing a tzinfo by wall time.
    floor = after.astimezone(UTC) if after else datetime.min.replace(tzinfo=UTC)
    if isinstance(spec, Now | Once):
        instant = (
            anchor.astimezone(zone)
            if isinstance(spec, Now)
            else place_on_timeline(_local(spec.at, zone), zone)
        )
        at = instant.astimezone(UTC)
        if at > floor or (isinstance(spec, Now) and at == floor):  # now is now
            yield instant
        return
    start, end = _start_and_end(spec, anchor)
    if isinstance(spec, Repeat) and spec.unit in ELAPSED_UNITS:
        step = timedelta(**{spec.unit: spec.every})
        start = start.astimezone(UTC)  # aware + timedelta is wall-clock arithmetic; use UTC
        skipped = max(0, (floor - start) // step + 1) if floor >= start else 0
        moment = start + skipped * step
        while end is None or moment <= end:
            yield moment.astimezone(zone)
            moment += step
        return
    local_start = start.astimezone(zone).replace(tzinfo=None)
    local_end = end.astimezone(zone).replace(tzinfo=None) if end else None
    # Begin a day before ``after`` on the wall clock: DST can shift a wall time by hours.
    local_from = local_start
    if after is not None:
        local_from = max(local_start, after.astimezone(zone).replace(tzinfo=None) - timedelta(1))
    if isinstance(spec, Cron):
        walls = CronSim(spec.expression, local_from - timedelta(seconds=1))
    else:
        walls = _wall_rule(spec, local_start, local_end).xafter(local_from, inc=True)
    previous = None
    for wall in walls:
        if local_end is not None and wall > local_end:
            return
        instant = place_on_timeline(wall, zone).astimezone(UTC)
        if instant > floor and instant != previous:  # two gap times may land on one instant
            yield instant.astimezone(zone)
        previous = instant


def preview(spec, n: int, *, after: datetime, anchor: datetime | None = None) -> list[datetime]:
    """The next ``n`` firings strictly after ``after`` (fewer if the schedule ends), as shown
    while a schedule is being edited and used by the scheduler for ``next_fire_at``."""
    return list(itertools.islice(firings(spec, anchor=anchor or after, after=after), n))
