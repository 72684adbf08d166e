"""What an exporter declares: its columns, its filters, and the records it reads.

An exporter names a model, the columns of its file (each read set-based, as one SQL expression
that already renders the cell as text) and the fields operators may filter on. The export
process (``nightshift.exports.processes``) does the rest: batches, chunks, the file.

Every cell is rendered *by the database*: dates as ISO 8601, datetimes as UTC ISO 8601, numbers
with their decimal places, booleans as ``true``/``false``, and text with a leading apostrophe
when it starts with a character a spreadsheet reads as a formula (``= + - @`` tab, carriage
return). Rows then go from the cursor to the CSV writer without a Python call per cell, which
is what makes an export of millions of rows fast.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar

from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Cast, Concat, Substr
from django.db.models.lookups import In
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from nightshift.processes.base import ParameterError

if TYPE_CHECKING:
    from django.utils.functional import Promise

__all__ = [
    "FORMULA_TRIGGERS",
    "Column",
    "Exporter",
    "Filter",
    "Kind",
    "neutralise",
]

# A cell starting with one of these is read as a formula by Excel, LibreOffice and Google
# Sheets (OWASP "CSV injection"); such text cells get a leading apostrophe.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
RANGE_SEPARATOR = ".."  # "2026-01-01..2026-03-31", "10..", "..500"


class Kind(models.TextChoices):
    TEXT = "text", gettext_lazy("text")  # free text, codes, related records' codes or names
    CHOICE = "choice", gettext_lazy("choice")  # one of a field's choices (exported as its value)
    NUMBER = "number", gettext_lazy("number")  # integers and decimals
    DATE = "date", gettext_lazy("date")  # a calendar day
    DATETIME = "datetime", gettext_lazy("date and time")  # an instant, exported in UTC
    BOOLEAN = "boolean", gettext_lazy("yes/no")  # true or false


def neutralise(text: str) -> str:
    """The text as a spreadsheet shows it without evaluating it: a leading apostrophe when it
    would start a formula. The same rule as the SQL the exporters run, for Python callers.

    >>> neutralise("=1+2"), neutralise("plain")
    ("'=1+2", 'plain')
    """
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


# ----------------------------------------------------------------------------- SQL rendering


class AsCell(models.Func):
    """A value rendered as the text of its cell, the same on SQLite and PostgreSQL (NULL stays
    NULL: an empty cell)."""

    output_field = models.TextField()

    def __init__(
        self, expression: Any, kind: str, decimals: int | None = None, serial_zone: str = ""
    ) -> None:
        super().__init__(expression)
        self.kind = kind
        self.decimals = decimals
        # XLSX on PostgreSQL: dates and date-times as spreadsheet serial numbers (days since
        # 1899-12-30; date-times as wall time in this zone), so Python only copies them.
        self.serial_zone = serial_zone

    def _inner(self, compiler, connection) -> tuple[str, list]:
        sql, params = compiler.compile(self.source_expressions[0])
        return sql, list(params)

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = self._inner(compiler, connection)
        if self.kind == Kind.NUMBER and self.decimals:
            # SQLite keeps decimals as REAL: printf restores the field's decimal places.
            return (
                f"CASE WHEN {sql} IS NULL THEN NULL ELSE printf(%s, {sql}) END",
                [*params, f"%.{self.decimals}f", *params],
            )
        if self.kind == Kind.DATETIME:
            return f"strftime(%s, {sql})", ["%Y-%m-%dT%H:%M:%SZ", *params]
        return f"CAST({sql} AS TEXT)", params

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = self._inner(compiler, connection)
        if self.serial_zone and self.kind == Kind.DATE:
            return f"CAST(({sql}) - DATE '1899-12-30' AS text)", params
        if self.serial_zone and self.kind == Kind.DATETIME:
            return (
                f"CAST(round(EXTRACT(EPOCH FROM (({sql}) AT TIME ZONE %s)) / 86400 + 25569, 8) "
                "AS text)",
                [*params, self.serial_zone],
            )
        if self.kind == Kind.DATETIME:
            return f"to_char(({sql}) AT TIME ZONE 'UTC', %s)", [
                *params,
                'YYYY-MM-DD"T"HH24:MI:SS"Z"',
            ]
        # A date cast to text is YYYY-MM-DD under the ISO date style, which the export sets
        # for its batches (nightshift.exports.postgres); the cast costs a fraction of to_char.
        return f"CAST({sql} AS text)", params

    def as_sql(self, compiler, connection, **extra):
        sql, params = self._inner(compiler, connection)
        return f"CAST({sql} AS VARCHAR(255))", params


class Neutralised(models.Func):
    """Text with a leading apostrophe when it starts with a formula trigger. The test is the
    code of the first character against FORMULA_TRIGGERS' codes, written as SQL literals: an
    integer comparison where ``substr(…) IN ('=', …)`` builds a text per cell and compares
    strings (on PostgreSQL that made neutralising a third of an export's query time), and no
    parameters, which 29 columns would otherwise send by the hundred with each batch."""

    output_field = models.TextField()
    # Each vendor's function for the code of the first character (0 or NULL for empty text).
    FIRST_CODE: ClassVar[dict[str, str]] = {"sqlite": "unicode", "postgresql": "ascii"}
    CODES = ", ".join(str(ord(trigger)) for trigger in FORMULA_TRIGGERS)

    def as_sql(self, compiler, connection, **extra):
        function = self.FIRST_CODE.get(connection.vendor)
        if function is None:
            return compiler.compile(_neutralised_portable(self.source_expressions[0]))
        sql, params = compiler.compile(self.source_expressions[0])
        apostrophe = "chr(39)" if connection.vendor == "postgresql" else "char(39)"
        return (
            f"CASE WHEN {function}({sql}) IN ({self.CODES}) THEN {apostrophe} || {sql} "
            f"ELSE {sql} END",
            [*params, *params, *params],
        )


def _neutralised_portable(expression: Any) -> Any:
    return Case(
        When(
            In(Substr(expression, 1, 1), list(FORMULA_TRIGGERS)),
            then=Concat(Value("'"), expression, output_field=models.TextField()),
        ),
        default=expression,
        output_field=models.TextField(),
    )


# ----------------------------------------------------------------------------- columns


def _final_field(model: type[models.Model], path: str) -> models.Field:
    """The model field a ``__`` path ends on (``classification__name`` → ``name``)."""
    parts = path.split("__")
    for part in parts[:-1]:
        model = model._meta.get_field(part).related_model
    return model._meta.get_field(parts[-1])


def _label_of(model: type[models.Model], path: str) -> str:
    """The operator's name for a path: its first field's (``classification__name`` is the
    "Classification", not the classification's "Name")."""
    return str(capfirst(model._meta.get_field(path.split("__", 1)[0]).verbose_name))


def _kind_of(model_field: models.Field) -> str:
    if model_field.choices:
        return Kind.CHOICE
    if isinstance(model_field, models.BooleanField):
        return Kind.BOOLEAN
    if isinstance(model_field, models.DateTimeField):
        return Kind.DATETIME
    if isinstance(model_field, models.DateField):
        return Kind.DATE
    if isinstance(model_field, models.DecimalField | models.IntegerField | models.FloatField):
        return Kind.NUMBER
    return Kind.TEXT


@dataclass(frozen=True)
class Column:
    """One column of an export file.

    ``source`` is a field path (``"classification__name"``, the default is ``name``) or an
    expression (an annotation such as ``Concat(...)``); ``kind`` and ``label`` default to what
    the model field says. An expression source needs an explicit ``kind``.
    """

    name: str
    source: Any = None
    label: str | Promise | None = None
    kind: str | None = None

    def bind(self, model: type[models.Model]) -> BoundColumn:
        source = self.source or self.name
        kind, label, decimals = self.kind, self.label, None
        if isinstance(source, str):
            model_field = _final_field(model, source)
            kind = kind or _kind_of(model_field)
            label = label or _label_of(model, source)
            decimals = getattr(model_field, "decimal_places", None)
            expression: Any = F(source)
        else:
            expression = source
            if kind == Kind.BOOLEAN:
                raise TypeError(f"Boolean column {self.name!r} needs a field path as source.")
        if kind is None:
            raise TypeError(f"Column {self.name!r} has an expression source; give its kind.")
        return BoundColumn(
            name=self.name,
            label=str(label or self.name),
            kind=kind,
            expression=expression,
            decimals=decimals,
            path=source if isinstance(source, str) else None,
        )


@dataclass(frozen=True)
class BoundColumn:
    name: str
    label: str
    kind: str
    expression: Any
    decimals: int | None = None
    path: str | None = None

    def cell(self, serial_zone: str = "") -> Any:
        """The SQL expression that reads this column as the text of its cell; with
        ``serial_zone``, dates and date-times as spreadsheet serials where the database can
        (PostgreSQL), ISO 8601 elsewhere."""
        if self.kind in (Kind.TEXT, Kind.CHOICE):
            return Neutralised(Cast(self.expression, models.TextField()))
        if self.kind == Kind.BOOLEAN:
            return Case(
                When(Q(**{self.path: True}), then=Value("true")),
                When(Q(**{self.path: False}), then=Value("false")),
                default=Value(None),
                output_field=models.TextField(),
            )
        return AsCell(self.expression, self.kind, self.decimals, serial_zone)


# ----------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class Filter:
    """A field operators may filter an export on.

    The kind (from the model field unless given) decides what a value may be:

    - choice: one value or several (a list, or ``"a,b"``), each one of the field's choices;
    - boolean: ``true``/``false`` (also yes/no, 1/0);
    - number, date, datetime: one value (exactly that; for a datetime, that whole day) or a
      range ``FROM..TO`` where either end may be left out, or ``{"from": …, "to": …}``;
    - text: the text the field contains (case-insensitive), or equals with ``lookup="iexact"``.
    """

    name: str
    source: str | None = None
    label: str | Promise | None = None
    kind: str | None = None
    lookup: str = "icontains"

    def bind(self, model: type[models.Model]) -> BoundFilter:
        source = self.source or self.name
        model_field = _final_field(model, source)
        kind = self.kind or _kind_of(model_field)
        choices = [str(value) for value, _label in model_field.choices or []]
        return BoundFilter(
            name=self.name,
            source=source,
            label=str(self.label or _label_of(model, source)),
            kind=kind,
            lookup=self.lookup,
            choices=choices,
        )


@dataclass(frozen=True)
class BoundFilter:
    name: str
    source: str
    label: str
    kind: str
    lookup: str
    choices: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """How a value for this filter is written, for help texts and error messages."""
        if self.kind == Kind.CHOICE:
            return _("one or more of: %(choices)s") % {"choices": ", ".join(self.choices)}
        if self.kind == Kind.BOOLEAN:
            return _("true or false")
        if self.kind in (Kind.DATE, Kind.DATETIME):
            return _("a day YYYY-MM-DD or a range FROM..TO (either end may be left out)")
        if self.kind == Kind.NUMBER:
            return _("a number or a range FROM..TO (either end may be left out)")
        return _("text the field contains")

    # -- normalising ------------------------------------------------------------------------

    def clean(self, value: Any) -> Any:
        """The value in its stored form; ``ValueError`` with the operator's message."""
        if self.kind == Kind.CHOICE:
            return self._clean_choice(value)
        if self.kind == Kind.BOOLEAN:
            return self._clean_boolean(value)
        if self.kind in (Kind.DATE, Kind.DATETIME, Kind.NUMBER):
            return self._clean_range(value)
        if not isinstance(value, str | int | float) or not str(value).strip():
            raise ValueError(_("Give the text to look for."))
        return str(value).strip()

    def _clean_choice(self, value: Any) -> list[str]:
        if isinstance(value, str):
            values = [part.strip() for part in value.split(",") if part.strip()]
        elif isinstance(value, list):
            values = [str(part).strip() for part in value]
        else:
            values = []
        if not values:
            raise ValueError(_("Choose %(what)s.") % {"what": self.describe()})
        unknown = [item for item in values if item not in self.choices]
        if unknown:
            raise ValueError(
                _("“%(value)s” is not allowed; choose %(what)s.")
                % {"value": ", ".join(unknown), "what": self.describe()}
            )
        return list(dict.fromkeys(values))

    def _clean_boolean(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1", "on"):
            return True
        if text in ("false", "no", "0", "off"):
            return False
        raise ValueError(_("“%(value)s” is not true or false.") % {"value": value})

    def _clean_range(self, value: Any) -> dict[str, str | None]:
        if isinstance(value, dict):
            unknown = set(value) - {"from", "to"}
            if unknown:
                raise ValueError(_("A range has only “from” and “to”."))
            low, high = value.get("from"), value.get("to")
        elif isinstance(value, str) and RANGE_SEPARATOR in value:
            low, high = (part.strip() or None for part in value.split(RANGE_SEPARATOR, 1))
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            low = high = value
        else:
            low = high = None
        if low in (None, "") and high in (None, ""):
            raise ValueError(_("Give %(what)s.") % {"what": self.describe()})
        low, high = self._bound(low), self._bound(high)
        if low is not None and high is not None and self._parse(low) > self._parse(high):
            raise ValueError(
                _("The range starts at %(low)s, after its end %(high)s.")
                % {"low": low, "high": high}
            )
        return {"from": low, "to": high}

    def _bound(self, value: Any) -> str | None:
        if value in (None, ""):
            return None
        text = str(value).strip()
        try:
            parsed = self._parse(text)
        except (ValueError, InvalidOperation):
            what = _("a number") if self.kind == Kind.NUMBER else _("a day YYYY-MM-DD")
            raise ValueError(
                _("“%(value)s” is not %(what)s.") % {"value": text, "what": what}
            ) from None
        return str(parsed) if self.kind == Kind.NUMBER else parsed.isoformat()

    def _parse(self, text: str) -> Any:
        if self.kind == Kind.NUMBER:
            number = Decimal(text)
            if not number.is_finite():
                raise ValueError(text)
            return number
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(text)
        return datetime.date.fromisoformat(text)

    # -- applying ---------------------------------------------------------------------------

    def q(self, value: Any) -> Q:
        """The condition a stored value puts on the export's records."""
        if self.kind == Kind.CHOICE:
            return Q(**{f"{self.source}__in": value})
        if self.kind == Kind.BOOLEAN:
            return Q(**{self.source: value})
        if self.kind == Kind.TEXT:
            return Q(**{f"{self.source}__{self.lookup}": value})
        condition = Q()
        low, high = value.get("from"), value.get("to")
        if self.kind == Kind.DATETIME:
            # A day is the organization's day: from its first instant to the next day's.
            zone = timezone.get_current_timezone()
            if low is not None:
                start = datetime.datetime.combine(datetime.date.fromisoformat(low), datetime.time())
                condition &= Q(**{f"{self.source}__gte": start.replace(tzinfo=zone)})
            if high is not None:
                end = datetime.date.fromisoformat(high) + datetime.timedelta(days=1)
                end_at = datetime.datetime.combine(end, datetime.time()).replace(tzinfo=zone)
                condition &= Q(**{f"{self.source}__lt": end_at})
            return condition
        convert = Decimal if self.kind == Kind.NUMBER else datetime.date.fromisoformat
        if low is not None:
            condition &= Q(**{f"{self.source}__gte": convert(low)})
        if high is not None:
            condition &= Q(**{f"{self.source}__lte": convert(high)})
        return condition


# ----------------------------------------------------------------------------- exporters


class Exporter:
    """Base class of every exporter; subclass it and decorate with ``@register_exporter``.

    Subclasses set ``key`` (a stable slug: export definitions store it), ``name``, ``model``,
    ``columns`` (in file order; all of them unless an export picks some) and ``filters``.
    Override ``base_queryset`` to restrict what can ever be exported (e.g. leave out
    archived records).
    """

    key: ClassVar[str]
    name: ClassVar[str | Promise]
    model: ClassVar[type[models.Model]]
    columns: ClassVar[tuple[Column, ...]] = ()
    filters: ClassVar[tuple[Filter, ...]] = ()

    @classmethod
    def base_queryset(cls) -> models.QuerySet:
        return cls.model._default_manager.all()

    @classmethod
    def bound_columns(cls) -> list[BoundColumn]:
        return [column.bind(cls.model) for column in cls.columns]

    @classmethod
    def bound_filters(cls) -> dict[str, BoundFilter]:
        return {flt.name: flt.bind(cls.model) for flt in cls.filters}

    @classmethod
    def column_names(cls) -> list[str]:
        return [column.name for column in cls.columns]

    @classmethod
    def clean_columns(cls, names: list[str]) -> list[str]:
        """The chosen columns in the order given (all of them when none is); a
        ``ParameterError`` on ``columns`` naming the unknown ones and listing the known."""
        if not names:
            return cls.column_names()
        known = cls.column_names()
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ParameterError(
                {
                    "columns": _("Unknown columns: %(unknown)s. The %(entity)s export has: ")
                    % {"unknown": ", ".join(unknown), "entity": cls.key}
                    + ", ".join(known)
                    + "."
                }
            )
        return list(dict.fromkeys(names))

    @classmethod
    def clean_filters(cls, filters: dict[str, Any]) -> dict[str, Any]:
        """The filters in their stored form; a ``ParameterError`` naming each one at fault
        (``filters.<name>``), and for an unknown one the filters this exporter has."""
        bound = cls.bound_filters()
        errors: dict[str, str] = {}
        cleaned: dict[str, Any] = {}
        for name, value in filters.items():
            flt = bound.get(name)
            if flt is None:
                errors[f"filters.{name}"] = _(
                    "There is no filter “%(name)s” on %(entity)s; the filters are: %(known)s."
                ) % {"name": name, "entity": cls.key, "known": ", ".join(bound) or "-"}
                continue
            try:
                cleaned[name] = flt.clean(value)
            except ValueError as exc:
                errors[f"filters.{name}"] = str(exc)
        if errors:
            raise ParameterError(errors)
        return cleaned

    @classmethod
    def queryset(cls, filters: dict[str, Any]) -> models.QuerySet:
        """The records the (stored) filters select, ordered by primary key."""
        bound = cls.bound_filters()
        condition = Q()
        for name, value in filters.items():
            condition &= bound[name].q(value)
        return cls.base_queryset().filter(condition).order_by("pk")

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The exporter as the API and the CLI list it."""
        return {
            "key": cls.key,
            "name": str(cls.name),
            "columns": [
                {"name": c.name, "label": c.label, "kind": c.kind} for c in cls.bound_columns()
            ],
            "filters": [
                {
                    "name": f.name,
                    "label": f.label,
                    "kind": f.kind,
                    "choices": f.choices,
                    "help": f.describe(),
                }
                for f in cls.bound_filters().values()
            ],
        }
