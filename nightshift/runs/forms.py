"""The engine's forms: they turn what the operator typed into the shapes the actions take (the
definition's fields, a process's parameters, the schedule and throttling JSON) and put the
actions' errors back next to the field each one names.

They check only what is needed to build those shapes (a number is a number, a date is a date).
Every rule of the product — a name is required, binding periods need "in binding", a schedule
must have a firing left — lives in the actions and the process, which report it by field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from nightshift.processes.base import Process
from nightshift.processes.registry import all_processes
from nightshift.runs.models import (
    ApplicationServer,
    LifeCycle,
    LogEntry,
    LogLevel,
    MisfirePolicy,
    RunDefinition,
    RunState,
)

__all__ = [
    "BoardFilterForm",
    "DefinitionFilterForm",
    "DefinitionForms",
    "GeneralForm",
    "LogFilterForm",
    "ParametersForm",
    "ScheduleForm",
    "ThrottleForm",
    "add_action_errors",
    "parameter_groups",
]

# The value a datetime-local input sends and shows: a wall time, without seconds.
WALL_FORMAT = "%Y-%m-%dT%H:%M"
GROUPS = {"criteria": _("Criteria"), "input_settings": _("Input settings")}
# A parameter that names no group adjusts how records are processed, not which: an input setting.
DEFAULT_GROUP = "input_settings"

MODE_CHOICES = [
    ("now", _("Run now")),
    ("once", _("Run once at a date and time")),
    ("repeat", _("Run repeatedly")),
    ("advanced", _("Advanced scheduling")),
    ("cron", _("Cron expression")),
    ("rrule", _("Recurrence rule (RFC 5545)")),
]
UNIT_CHOICES = [
    ("seconds", _("seconds")),
    ("minutes", _("minutes")),
    ("hours", _("hours")),
    ("days", _("days")),
    ("weeks", _("weeks")),
    ("months", _("months")),
    ("years", _("years")),
]
WEEKDAY_CHOICES = [
    ("MO", _("Monday")),
    ("TU", _("Tuesday")),
    ("WE", _("Wednesday")),
    ("TH", _("Thursday")),
    ("FR", _("Friday")),
    ("SA", _("Saturday")),
    ("SU", _("Sunday")),
]
MONTH_CHOICES = [
    (1, _("January")),
    (2, _("February")),
    (3, _("March")),
    (4, _("April")),
    (5, _("May")),
    (6, _("June")),
    (7, _("July")),
    (8, _("August")),
    (9, _("September")),
    (10, _("October")),
    (11, _("November")),
    (12, _("December")),
]
NTH_CHOICES = [
    (1, _("first")),
    (2, _("second")),
    (3, _("third")),
    (4, _("fourth")),
    (5, _("fifth")),
    (-1, _("last")),
]
FREQUENCY_CHOICES = [
    ("daily", _("Daily")),
    ("weekly", _("Weekly")),
    ("monthly", _("Monthly")),
    ("yearly", _("Yearly")),
]
START_CHOICES = [("at", _("On a date and time")), ("after", _("After a period"))]
END_CHOICES = [
    ("never", _("Never")),
    ("on", _("On a date and time")),
    ("after", _("After a period (run repeatedly only)")),
]
MONTHLY_BY_CHOICES = [("day", _("On day of the month")), ("weekday", _("On the n-th weekday"))]


def _label(name: str):
    return capfirst(RunDefinition._meta.get_field(name).verbose_name)


class WallTimeField(forms.CharField):
    """A local date and time as the schedule JSON holds it (``2026-12-01T03:00``): a wall time
    in the schedule's own zone, so it is kept naive rather than converted to the server's."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=WALL_FORMAT)

    def to_python(self, value: Any) -> str:
        value = super().to_python(value)
        if not value:
            return ""
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(
                _("Enter a date and time such as 2026-12-01T03:00."), code="invalid"
            ) from None
        return parsed.strftime("%Y-%m-%dT%H:%M:%S")


def _compact(data: dict) -> dict:
    """Leave out what the operator left blank, so the schedule's own validation says which
    field is missing instead of finding a null in it."""
    return {key: value for key, value in data.items() if value not in (None, "", [])}


def add_action_errors(form: forms.Form, error: ValidationError) -> None:
    """Put an action's ``ValidationError`` on ``form``: next to the field it names when the form
    has one, otherwise above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for name, messages in error.message_dict.items():
        form.add_error(name if name in form.fields else None, messages)


# ----------------------------------------------------------------------------- definition


class GeneralForm(forms.Form):
    """General information of a run definition. Nothing here is required by the form: the
    action checks the name (and says so in the operator's words)."""

    prefix = "general"
    REQUIRED = ("name",)

    name = forms.CharField(label=_label("name"), required=False, max_length=200)
    alternative_code = forms.CharField(
        label=_label("alternative_code"), required=False, max_length=60
    )
    description = forms.CharField(
        label=_label("description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    life_cycle = forms.ChoiceField(
        label=_label("life_cycle"), choices=LifeCycle.choices, initial=LifeCycle.EFFECTIVE
    )
    log_level = forms.ChoiceField(
        label=_label("log_level"), choices=LogLevel.choices, initial=LogLevel.ERRORS
    )
    notify_on_completion = forms.BooleanField(
        label=_label("notify_on_completion"),
        required=False,
        initial=True,
        help_text=_("E-mail the run's summary to whoever submitted it when it ends."),
    )
    server = forms.ChoiceField(label=_label("server"), required=False)
    misfire_policy = forms.ChoiceField(
        label=_label("misfire_policy"),
        choices=MisfirePolicy.choices,
        initial=MisfirePolicy.FIRE_ONCE,
        help_text=_("What the scheduler does with firings missed while it was in standby."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        default = ApplicationServer.objects.filter(is_default=True).first()
        blank = (
            gettext("The default server (%(name)s)") % {"name": default.name}
            if default
            else gettext("The default server")
        )
        names = ApplicationServer.objects.order_by("name").values_list("name", flat=True)
        self.fields["server"].choices = [("", blank), *((name, name) for name in names)]
        for name in self.REQUIRED:
            self.fields[name].widget.attrs["aria-required"] = "true"

    @staticmethod
    def initial_from(definition: RunDefinition) -> dict[str, Any]:
        return {
            "name": definition.name,
            "alternative_code": definition.alternative_code,
            "description": definition.description,
            "life_cycle": definition.life_cycle,
            "log_level": definition.log_level,
            "notify_on_completion": definition.notify_on_completion,
            "server": definition.server.name if definition.server else "",
            "misfire_policy": definition.misfire_policy,
        }


@dataclass
class _Parameter:
    """How one property of a process's parameter schema is shown and read back."""

    kind: str  # bool, int, number, choice, choices, list, text, json
    nullable: bool = False
    values: dict[str, Any] = field(default_factory=dict)  # choice value shown -> JSON value
    item_types: set[str] = field(default_factory=set)  # for a comma-separated list
    group: str = DEFAULT_GROUP


def _resolve(schema: dict, prop: dict) -> dict:
    """``prop`` with its ``$ref`` (or single ``allOf``) replaced by what it points to."""
    prop = dict(prop)
    all_of = prop.get("allOf")
    if all_of and len(all_of) == 1:
        prop.pop("allOf")
        prop = {**all_of[0], **prop}
    while "$ref" in prop:
        ref = prop.pop("$ref")
        target: Any = schema
        for part in ref.removeprefix("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        prop = {**target, **prop}
    return prop


def _unwrap(schema: dict, prop: dict) -> tuple[dict, bool]:
    """A property without its ``null`` alternative, and whether it had one."""
    prop = _resolve(schema, prop)
    options = prop.get("anyOf") or prop.get("oneOf")
    if not options:
        return prop, prop.get("type") == "null"
    rest = [_resolve(schema, option) for option in options if option.get("type") != "null"]
    nullable = len(rest) < len(options)
    if len(rest) == 1:
        outer = {k: v for k, v in prop.items() if k not in ("anyOf", "oneOf")}
        return {**rest[0], **outer}, nullable
    return prop, nullable


def _simple_types(schema: dict, prop: dict) -> set[str] | None:
    """The scalar types a list item may take (``{"integer", "string"}``), or None if it may be
    anything else."""
    prop = _resolve(schema, prop)
    options = prop.get("anyOf") or prop.get("oneOf") or [prop]
    types = {_resolve(schema, option).get("type") for option in options}
    return types if types and types <= {"integer", "number", "string"} else None


# JSON schema scalar type -> (form field, parameter kind)
SCALARS = {
    "boolean": (forms.BooleanField, "bool"),
    "integer": (forms.IntegerField, "int"),
    "number": (forms.FloatField, "number"),
}


def _parameter_field(schema: dict, name: str, prop: dict) -> tuple[forms.Field, _Parameter]:
    title = prop.get("title") or name.replace("_", " ").capitalize()
    description = prop.get("description") or ""
    group = prop.get("group") if prop.get("group") in GROUPS else DEFAULT_GROUP
    common = {
        "label": gettext(title),
        "help_text": gettext(description) if description else "",
        "required": False,
    }
    inner, nullable = _unwrap(schema, prop)
    kind = inner.get("type")
    enum = inner.get("enum") or ([inner["const"]] if "const" in inner else None)
    if enum is not None:
        values = {str(value): value for value in enum}
        choices = [(key, key) for key in values]
        if nullable or "default" not in prop:
            choices.insert(0, ("", "—"))
        spec = _Parameter("choice", nullable, values=values, group=group)
        return forms.ChoiceField(choices=choices, **common), spec
    if kind in SCALARS:
        field_class, scalar = SCALARS[kind]
        return field_class(**common), _Parameter(scalar, nullable, group=group)
    if kind == "array" and isinstance(inner.get("items"), dict):
        items = _resolve(schema, inner["items"])
        if "enum" in items:
            values = {str(value): value for value in items["enum"]}
            spec = _Parameter("choices", nullable, values=values, group=group)
            field_ = forms.MultipleChoiceField(
                choices=[(key, key) for key in values],
                widget=forms.CheckboxSelectMultiple,
                **common,
            )
            return field_, spec
        types = _simple_types(schema, items)
        if types:
            common["help_text"] = " ".join(
                filter(None, [str(common["help_text"]), gettext("Separate values with commas.")])
            )
            spec = _Parameter("list", nullable, item_types=types, group=group)
            return forms.CharField(**common), spec
    if kind == "string":
        widget = None
        if inner.get("format") == "date":
            widget = forms.DateInput(attrs={"type": "date"})
        elif inner.get("format") == "date-time":
            widget = forms.DateTimeInput(attrs={"type": "datetime-local"})
        return forms.CharField(widget=widget, **common), _Parameter("text", nullable, group=group)
    common["help_text"] = " ".join(
        filter(None, [str(common["help_text"]), gettext("Give the value as JSON.")])
    )
    widget = forms.Textarea(attrs={"rows": 3, "class": "json"})
    return forms.CharField(widget=widget, **common), _Parameter("json", nullable, group=group)


def parameter_groups(schema: dict) -> list[tuple[str, Any, list[tuple[str, str]]]]:
    """``(group key, group title, [(parameter name, title)])`` in schema order, for showing a
    definition's parameters the way its form groups them."""
    rows: dict[str, list[tuple[str, str]]] = {key: [] for key in GROUPS}
    for name, prop in schema.get("properties", {}).items():
        group = prop.get("group") if prop.get("group") in GROUPS else DEFAULT_GROUP
        rows[group].append((name, gettext(prop.get("title") or name)))
    return [(key, GROUPS[key], rows[key]) for key in GROUPS if rows[key]]


class ParametersForm(forms.Form):
    """A process's parameters, one widget per property of its JSON schema, grouped into
    criteria and input settings. What no widget fits is a JSON text area for that field."""

    prefix = "param"

    def __init__(
        self,
        schema: dict,
        data: Any = None,
        *,
        values: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        self.schema = schema
        self.specs: dict[str, _Parameter] = {}
        defaults = {}
        for name, prop in schema.get("properties", {}).items():
            self.fields[name], self.specs[name] = _parameter_field(schema, name, prop)
            if "default" in prop:
                defaults[name] = prop["default"]
        source = defaults if values is None else {**defaults, **values}
        self.initial = {name: self._shown(name, value) for name, value in source.items()}
        self.values: dict[str, Any] = {}

    def _shown(self, name: str, value: Any) -> Any:
        spec = self.specs.get(name)
        if spec is None or value is None:
            return None
        if spec.kind == "list":
            return ", ".join(str(item) for item in value)
        if spec.kind == "choices":
            return [str(item) for item in value]
        if spec.kind == "choice":
            return str(value)
        if spec.kind == "json":
            return json.dumps(value)
        return value

    def groups(self) -> list[tuple[str, Any, list[forms.BoundField]]]:
        return [
            (key, title, [self[name] for name in self.specs if self.specs[name].group == key])
            for key, title in GROUPS.items()
            if any(spec.group == key for spec in self.specs.values())
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.values = {}
        for name, spec in self.specs.items():
            if name not in cleaned:
                continue  # already refused by its field
            try:
                value = self._value(spec, cleaned[name])
            except ValidationError as exc:
                self.add_error(name, exc)
                continue
            if value is not _BLANK:
                self.values[name] = value
        return cleaned

    def _value(self, spec: _Parameter, raw: Any) -> Any:
        """The JSON value of one field; ``_BLANK`` leaves it out so the process's default (or
        its "required" message) applies."""
        if spec.kind == "bool":
            return bool(raw)
        if spec.kind in ("choices", "list"):
            if spec.kind == "choices":
                return [spec.values[item] for item in raw]
            return [_list_item(token, spec.item_types) for token in _tokens(raw)]
        if raw in (None, ""):
            return None if spec.nullable else _BLANK
        if spec.kind == "choice":
            return spec.values[raw]
        return _json(raw) if spec.kind == "json" else raw


def _json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            _("This is not valid JSON: %(error)s"), params={"error": exc.msg}
        ) from None


_BLANK = object()


def _tokens(raw: str | None) -> list[str]:
    return [token.strip() for token in re.split(r"[,\n]", raw or "") if token.strip()]


def _list_item(token: str, types: set[str]) -> Any:
    if "integer" in types and re.fullmatch(r"[+-]?\d+", token):
        return int(token)
    if "number" in types:
        try:
            return float(token)
        except ValueError:
            pass
    if "string" in types:
        return token
    raise ValidationError(_("“%(value)s” is not a number."), params={"value": token})


class ScheduleForm(forms.Form):
    """Scheduling settings, one group of fields per mode, assembled into the JSON shape of
    ``nightshift.scheduling.specs`` (see docs/scheduling.md)."""

    prefix = "schedule"

    mode = forms.ChoiceField(label=_("Run"), choices=MODE_CHOICES, initial="now")
    timezone = forms.CharField(
        label=_("Time zone"),
        required=False,
        help_text=_("An IANA name such as America/Sao_Paulo; empty for the organization's."),
    )
    follow_agenda = forms.BooleanField(
        label=_label("follow_agenda"),
        required=False,
        help_text=_(
            "Fire on the default schedule an administrator set for this process instead of "
            "the settings below."
        ),
    )
    # once
    at = WallTimeField(label=_("Date and time"), required=False)
    # repeat
    every = forms.IntegerField(label=_("Every"), required=False, initial=1, min_value=1)
    unit = forms.ChoiceField(required=False, label=_("Unit"), choices=UNIT_CHOICES, initial="days")
    start_kind = forms.ChoiceField(
        required=False,
        label=_("Start"),
        choices=START_CHOICES,
        initial="at",
        widget=forms.RadioSelect,
    )
    start_after_every = forms.IntegerField(label=_("After"), required=False, min_value=1)
    start_after_unit = forms.ChoiceField(
        required=False, label=_("Unit"), choices=UNIT_CHOICES, initial="hours"
    )
    # repeat, advanced, cron, rrule
    start_at = WallTimeField(label=_("Start at"), required=False)
    end_kind = forms.ChoiceField(
        required=False,
        label=_("End"),
        choices=END_CHOICES,
        initial="never",
        widget=forms.RadioSelect,
    )
    end_on = WallTimeField(label=_("End on"), required=False)
    end_after_every = forms.IntegerField(label=_("After"), required=False, min_value=1)
    end_after_unit = forms.ChoiceField(
        required=False, label=_("Unit"), choices=UNIT_CHOICES, initial="days"
    )
    # advanced
    frequency = forms.ChoiceField(
        required=False, label=_("Repeat"), choices=FREQUENCY_CHOICES, initial="weekly"
    )
    interval = forms.IntegerField(label=_("Every"), required=False, initial=1, min_value=1)
    weekdays = forms.MultipleChoiceField(
        label=_("On"),
        choices=WEEKDAY_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    monthly_by = forms.ChoiceField(
        required=False,
        label=_("On"),
        choices=MONTHLY_BY_CHOICES,
        initial="day",
        widget=forms.RadioSelect,
    )
    day = forms.IntegerField(label=_("Day"), required=False, initial=1)
    nth = forms.TypedChoiceField(
        required=False, label=_("The"), choices=NTH_CHOICES, coerce=int, initial=1
    )
    weekday = forms.ChoiceField(
        required=False, label=_("Weekday"), choices=WEEKDAY_CHOICES, initial="MO"
    )
    month = forms.TypedChoiceField(
        required=False, label=_("Month"), choices=MONTH_CHOICES, coerce=int, initial=1
    )
    # cron, rrule
    expression = forms.CharField(
        label=_("Cron expression"),
        required=False,
        help_text=_("Five fields on local time: minute hour day-of-month month day-of-week."),
    )
    rrule = forms.CharField(
        label=_("Recurrence rule"),
        required=False,
        help_text=_("For example FREQ=MONTHLY;BYDAY=-1FR (the start is given above)."),
    )

    def __init__(self, *args: Any, with_agenda: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not with_agenda:
            del self.fields["follow_agenda"]
        self.fields["timezone"].widget.attrs.update(
            {"list": "timezones", "placeholder": settings.TIME_ZONE}
        )

    @staticmethod
    def timezones() -> list[str]:
        return sorted(available_timezones())

    def to_schedule(self) -> dict[str, Any]:
        """The schedule JSON for the chosen mode, from the fields of that mode only."""
        data = self.cleaned_data
        mode = data["mode"]
        schedule: dict[str, Any] = {"mode": mode, "timezone": data.get("timezone") or None}
        if mode == "once":
            schedule["at"] = data.get("at")
        elif mode == "repeat":
            schedule.update(every=data.get("every"), unit=data.get("unit") or "days")
            if data.get("start_kind") == "after":
                after = {
                    "every": data.get("start_after_every"),
                    "unit": data.get("start_after_unit"),
                }
                schedule["start"] = {"after": _compact(after)}
            else:
                schedule["start"] = {"at": data.get("start_at")} if data.get("start_at") else {}
            schedule["end"] = self._end()
        elif mode == "advanced":
            schedule.update(start=data.get("start_at"), repeat=self._repeat(), end=self._end())
        elif mode == "cron":
            schedule.update(expression=data.get("expression"), start=data.get("start_at"))
            schedule["end"] = self._end()
        elif mode == "rrule":
            schedule.update(rrule=data.get("rrule"), start=data.get("start_at"))
        return _compact(schedule)

    def _end(self) -> dict[str, Any]:
        data = self.cleaned_data
        kind = data.get("end_kind") or "never"
        if kind == "on":
            return {"on": data.get("end_on")} if data.get("end_on") else {"on": None}
        if kind == "after":
            every = data.get("end_after_every")
            return {"after": _compact({"every": every, "unit": data.get("end_after_unit")})}
        return {"never": True}

    def _repeat(self) -> dict[str, Any]:
        data = self.cleaned_data
        frequency = data.get("frequency") or "weekly"
        rule: dict[str, Any] = {"every": data.get("interval") or 1}
        if frequency == "weekly":
            rule["weekdays"] = data.get("weekdays") or []
        elif frequency in ("monthly", "yearly"):
            if data.get("monthly_by") == "weekday":
                rule.update(nth=data.get("nth") or None, weekday=data.get("weekday") or None)
            else:
                rule["day"] = data.get("day")
            if frequency == "yearly":
                rule["month"] = data.get("month") or None
        # weekdays stays even when empty: the schedule says "at least 1 item", by its name.
        return {frequency: {k: v for k, v in rule.items() if v is not None}}

    @classmethod
    def initial_from(cls, schedule: dict | None, follow_agenda: bool = False) -> dict[str, Any]:
        """The fields that show ``schedule`` (as the actions stored it) for editing."""
        schedule = schedule or {"mode": "now"}
        zone_name = schedule.get("timezone") or settings.TIME_ZONE
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo(settings.TIME_ZONE)

        def wall(value: Any) -> str | None:
            if not value:
                return None
            try:
                moment = datetime.fromisoformat(str(value))
            except ValueError:
                return str(value)
            if moment.tzinfo is not None:
                moment = moment.astimezone(zone).replace(tzinfo=None)
            return moment.strftime(WALL_FORMAT)

        initial: dict[str, Any] = {
            "mode": schedule.get("mode", "now"),
            "timezone": "" if zone_name == settings.TIME_ZONE else zone_name,
            "follow_agenda": follow_agenda,
            "at": wall(schedule.get("at")),
            "every": schedule.get("every", 1),
            "unit": schedule.get("unit", "days"),
            "expression": schedule.get("expression", ""),
            "rrule": schedule.get("rrule", ""),
        }
        start = schedule.get("start")
        if isinstance(start, dict) and "after" in start:
            initial.update(
                start_kind="after",
                start_after_every=start["after"].get("every"),
                start_after_unit=start["after"].get("unit"),
            )
        elif isinstance(start, dict):
            initial.update(start_kind="at", start_at=wall(start.get("at")))
        else:
            initial["start_at"] = wall(start)
        end = schedule.get("end") or {}
        if end.get("on"):
            initial.update(end_kind="on", end_on=wall(end["on"]))
        elif end.get("after"):
            initial.update(
                end_kind="after",
                end_after_every=end["after"].get("every"),
                end_after_unit=end["after"].get("unit"),
            )
        repeat = schedule.get("repeat") or {}
        for frequency, given in repeat.items():
            rule = given or {}
            initial.update(frequency=frequency, interval=rule.get("every") or 1)
            initial["weekdays"] = rule.get("weekdays") or []
            if rule.get("nth") is not None:
                initial.update(monthly_by="weekday", nth=rule["nth"], weekday=rule.get("weekday"))
            elif rule.get("day") is not None:
                initial.update(monthly_by="day", day=rule["day"])
            if rule.get("month"):
                initial["month"] = rule["month"]
        return {key: value for key, value in initial.items() if value is not None}


class ThrottleForm(forms.Form):
    """Throttling: at most N records per run, and when a run stops at that cap with records
    left, start again after X units."""

    prefix = "throttle"

    max_records = forms.IntegerField(
        label=_("Maximum batch size"),
        required=False,
        help_text=_("At most this many records per run; empty for no limit."),
    )
    restart_every = forms.IntegerField(label=_("Start again after"), required=False)
    restart_unit = forms.ChoiceField(label=_("Unit"), choices=UNIT_CHOICES, initial="minutes")

    def to_throttle(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if data.get("max_records") is None and data.get("restart_every") is None:
            return None
        after = _compact({"every": data.get("restart_every"), "unit": data["restart_unit"]})
        return _compact({"max_records": data.get("max_records"), "restart_after": after})

    @staticmethod
    def initial_from(throttle: dict | None) -> dict[str, Any]:
        if not throttle:
            return {}
        after = throttle.get("restart_after") or {}
        return {
            "max_records": throttle.get("max_records"),
            "restart_every": after.get("every"),
            "restart_unit": after.get("unit", "minutes"),
        }


class DefinitionForms:
    """The four sections of the run definition screen, bound together: general information,
    the process's parameters, scheduling settings and throttling."""

    def __init__(
        self,
        process: type[Process],
        data: Any = None,
        *,
        definition: RunDefinition | None = None,
    ) -> None:
        self.process = process
        if definition is not None:
            general = GeneralForm.initial_from(definition)
            values = definition.parameters
            schedule = ScheduleForm.initial_from(definition.schedule, definition.follow_agenda)
            throttle = ThrottleForm.initial_from(definition.throttle)
        else:
            general, values, schedule, throttle = {}, None, {}, {}
        self.general = GeneralForm(data, initial=general)
        self.parameters = ParametersForm(process.parameter_schema(), data, values=values)
        self.schedule = ScheduleForm(data, initial=schedule)
        self.throttle = ThrottleForm(data, initial=throttle)

    @property
    def forms(self) -> list[forms.Form]:
        return [self.general, self.parameters, self.schedule, self.throttle]

    def is_valid(self) -> bool:
        valid = [form.is_valid() for form in self.forms]  # every form, to show every error
        return all(valid)

    def fields(self) -> dict[str, Any]:
        """The definition's fields as ``create_definition``/``edit_definition`` take them."""
        general = self.general.cleaned_data
        return {
            "name": general["name"],
            "alternative_code": general["alternative_code"],
            "description": general["description"],
            "life_cycle": general["life_cycle"],
            "log_level": general["log_level"],
            "notify_on_completion": general["notify_on_completion"],
            "server": general["server"] or None,
            "misfire_policy": general["misfire_policy"],
            "parameters": self.parameters.values,
            "schedule": self.schedule.to_schedule(),
            "follow_agenda": self.schedule.cleaned_data.get("follow_agenda", False),
            "throttle": self.throttle.to_throttle(),
        }

    def add_action_errors(self, error: ValidationError) -> None:
        """Each message of the action's error next to the field it names: ``parameters.x`` on
        parameter x, ``schedule`` on the scheduling section, ``throttle`` on throttling."""
        if not hasattr(error, "error_dict"):
            self.general.add_error(None, error.messages)
            return
        for name, messages in error.message_dict.items():
            if name.startswith("parameters."):
                path = name.removeprefix("parameters.")
                first = path.split(".")[0]
                if first in self.parameters.fields:
                    self.parameters.add_error(first, messages)
                else:
                    self.parameters.add_error(None, [f"{path}: {m}" for m in messages])
            elif name == "parameters":
                self.parameters.add_error(None, messages)
            elif name in ("schedule", "follow_agenda"):
                self.schedule.add_error(name if name in self.schedule.fields else None, messages)
            elif name == "throttle":
                self.throttle.add_error(None, messages)
            else:
                self.general.add_error(name if name in self.general.fields else None, messages)


# ----------------------------------------------------------------------------- filters


def _process_choices() -> list[tuple[str, Any]]:
    return [("", _("All processes")), *((p.key, p.name) for p in all_processes())]


def _day_bounds(day) -> tuple[datetime, datetime]:
    """The first instant of ``day`` and of the day after, in the organization's time zone."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
    return start, end


class DefinitionFilterForm(forms.Form):
    q = forms.CharField(label=_("Name or code"), required=False)
    process = forms.ChoiceField(label=_("Process"), required=False)
    life_cycle = forms.ChoiceField(
        label=_label("life_cycle"),
        required=False,
        choices=[("", _("Any")), *LifeCycle.choices],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["process"].choices = _process_choices()


class BoardFilterForm(forms.Form):
    process = forms.ChoiceField(label=_("Process"), required=False)
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("Any")), *RunState.choices]
    )
    created_from = forms.DateField(
        label=_("Created from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        label=_("Created to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    server = forms.ChoiceField(label=_("Application server"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["process"].choices = _process_choices()
        names = ApplicationServer.objects.order_by("name").values_list("name", flat=True)
        self.fields["server"].choices = [("", _("All servers")), *((n, n) for n in names)]

    def filter(self, runs):
        if not self.is_valid():
            return runs
        data = self.cleaned_data
        if data["process"]:
            runs = runs.filter(process_key=data["process"])
        if data["state"]:
            runs = runs.filter(state=data["state"])
        if data["server"]:
            runs = runs.filter(server__name=data["server"])
        if data["created_from"]:
            runs = runs.filter(created_at__gte=_day_bounds(data["created_from"])[0])
        if data["created_to"]:
            runs = runs.filter(created_at__lt=_day_bounds(data["created_to"])[1])
        return runs


class LogFilterForm(forms.Form):
    day = forms.DateField(
        label=_("Day"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    source = forms.ChoiceField(
        label=_("Source"), required=False, choices=[("", _("Any")), *LogEntry.Source.choices]
    )
    level = forms.ChoiceField(
        label=_("Level"), required=False, choices=[("", _("Any")), *LogEntry.Level.choices]
    )

    def day_shown(self):
        """The day asked for, or today in the organization's time zone."""
        day = self.cleaned_data.get("day") if self.is_valid() else None
        return day or timezone.localdate()

    def filter(self, entries):
        day = self.day_shown()
        start, end = _day_bounds(day)
        entries = entries.filter(at__gte=start, at__lt=end)
        if self.is_valid():
            if self.cleaned_data["source"]:
                entries = entries.filter(source=self.cleaned_data["source"])
            if self.cleaned_data["level"]:
                entries = entries.filter(level=self.cleaned_data["level"])
        return entries
