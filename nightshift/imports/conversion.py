"""From a cell of a file to the value of a field: one converter per field, built once per
import.

A cell is text (CSV) or what a spreadsheet holds (text, a number, a date, a boolean). A blank
cell converts to ``None``. A value that cannot be converted raises ``ConversionError`` whose
message says what is wrong with it in the operator's words; the caller adds the column.

``converter`` converts one cell; ``column_converter`` a column of a batch at once, which is how
imports call it: the common case of each type (text cells, ISO dates, codes of allowed values)
goes through a quick path over the whole column, and any cell the quick path does not take goes
through the one-cell converter, so both give the same values and the same messages.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from nightshift.imports.registry import Field, FieldType

__all__ = ["ConversionError", "column_converter", "converter", "normalise", "to_text"]

# Spreadsheets count days from 1899-12-30 (Excel's 1900 system, with its leap-year bug).
EXCEL_EPOCH = datetime.datetime(1899, 12, 30)  # noqa: DTZ001 — a calendar origin, no zone
# Serial numbers outside this range are not dates anyone means (1900-01-01 … 9999-12-31).
EXCEL_SERIALS = (1, 2_958_465)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
MAX_EMAIL = 254  # RFC 5321
TRUE = {"1", "yes", "y", "true", "t", "sim", "s", "x", "on", "verdadeiro"}
FALSE = {"0", "no", "n", "false", "f", "nao", "off", "falso"}
DATE_FORMATS_DMY = ("%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%y")
DATE_FORMATS_MDY = ("%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y")
TIME_FORMATS = ("%H:%M:%S", "%H:%M")


class ConversionError(ValueError):
    """A cell that does not convert to its field's type; the message says why."""


@lru_cache(maxsize=8192)  # the same headers, labels and codes come back row after row
def normalise(text: str) -> str:
    """Lower case, accents removed, punctuation as single spaces: how headers, choice labels,
    booleans and country names are compared. ``"Código-Postal "`` → ``"codigo postal"``."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", plain.lower()).split())


def to_text(value: Any) -> str:  # noqa: PLR0911 — one answer per cell type
    """A cell as text: whole numbers without ``.0`` (a code typed as a number), dates in ISO."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def converter(field: Field, *, day_first: bool = True) -> Callable[[Any], Any]:
    """The function turning one cell into ``field``'s value (``None`` for a blank cell).
    References convert to their lookup text; the loader resolves them a batch at a time."""
    build = _BUILDERS[field.type]
    convert = build(field, day_first)

    def convert_cell(value: Any) -> Any:
        if value is None or (value.__class__ is str and (not value or value.isspace())):
            return None
        return convert(value)

    return convert_cell


# A column converter: the cells of one column of a batch → their values, and the message of
# each cell that does not convert, by its position in the column.
ColumnConverter = Callable[[Sequence[Any]], tuple[list[Any], dict[int, str]]]
# What a quick path leaves for the one-cell converter.
_AGAIN = object()


def column_converter(field: Field, *, day_first: bool = True) -> ColumnConverter:
    """The function converting a column of cells into ``field``'s values (``None`` for blank
    cells and for cells that do not convert, whose messages come back by position)."""
    careful = converter(field, day_first=day_first)
    quick = _QUICK.get(field.type, _no_quick)(field)

    def convert_column(cells: Sequence[Any]) -> tuple[list[Any], dict[int, str]]:
        values = quick(cells)
        errors: dict[int, str] = {}
        position = -1
        while True:
            try:
                position = values.index(_AGAIN, position + 1)
            except ValueError:
                return values, errors
            try:
                values[position] = careful(cells[position])
            except ConversionError as exc:
                errors[position] = str(exc)
                values[position] = None

    return convert_column


def _no_quick(field: Field) -> Callable[[Sequence[Any]], list[Any]]:
    return lambda cells: [_AGAIN] * len(cells)


def _texts(cells: Sequence[Any]) -> list[Any]:
    """The cells stripped; all left to the one-cell converter when one is not text (a
    spreadsheet's number or date cell)."""
    try:
        return [cell.strip() for cell in cells]
    except AttributeError:
        return [_AGAIN] * len(cells)


def _blank_as_none(values: list[Any]) -> list[Any]:
    return [value or None for value in values] if "" in values else values


def _quick_text(field: Field) -> Callable[[Sequence[Any]], list[Any]]:
    limit = field.max_length

    def quick(cells: Sequence[Any]) -> list[Any]:
        texts = _texts(cells)
        if texts and texts[0] is not _AGAIN and limit is not None and max(map(len, texts)) > limit:
            texts = [text if len(text) <= limit else _AGAIN for text in texts]
        return _blank_as_none(texts)

    return quick


def _quick_email(field: Field) -> Callable[[Sequence[Any]], list[Any]]:
    match = EMAIL_RE.match

    def quick(cells: Sequence[Any]) -> list[Any]:
        texts = _texts(cells)
        if not texts or texts[0] is _AGAIN:
            return texts
        if max(map(len, texts)) > MAX_EMAIL:
            return [_AGAIN] * len(texts)
        texts = [text.lower() for text in texts]
        matched = list(map(match, texts))
        position = -1
        while True:  # each blank cell, and each the one-cell converter will name
            try:
                position = matched.index(None, position + 1)
            except ValueError:
                return texts
            texts[position] = _AGAIN if texts[position] else None

    return quick


def _quick_date(field: Field) -> Callable[[Sequence[Any]], list[Any]]:
    parse = datetime.date.fromisoformat

    def one(cell: Any) -> Any:
        try:
            return parse(cell)
        except (ValueError, TypeError):  # blank, another format, a spreadsheet's date cell
            return _AGAIN

    def quick(cells: Sequence[Any]) -> list[Any]:
        try:
            return [parse(cell) for cell in cells]
        except (ValueError, TypeError):
            return [one(cell) for cell in cells]

    return quick


def _quick_lookup(lookup: dict[str, str]) -> Callable[[Sequence[Any]], list[Any]]:
    get = lookup.get
    return lambda cells: [get(cell, _AGAIN) for cell in cells]


def _quick_choice(field: Field) -> Callable[[Sequence[Any]], list[Any]]:
    return _quick_lookup({value: value for value in field.choices.values})


def _quick_country(field: Field) -> Callable[[Sequence[Any]], list[Any]]:
    return _quick_lookup({code: code for code in _countries().values()})


def _text(field: Field, day_first: bool) -> Callable[[Any], Any]:
    limit = field.max_length

    def convert(value: Any) -> str:
        text = (value if value.__class__ is str else to_text(value)).strip()
        if limit is not None and len(text) > limit:
            raise ConversionError(
                _("is %(length)s characters long; at most %(limit)s are allowed.")
                % {"length": len(text), "limit": limit}
            )
        return text

    return convert


def _email(field: Field, day_first: bool) -> Callable[[Any], Any]:
    def convert(value: Any) -> str:
        text = to_text(value).strip().lower()
        if len(text) > MAX_EMAIL or not EMAIL_RE.match(text):
            raise ConversionError(_("“%(value)s” is not a valid e-mail address.") % {"value": text})
        return text

    return convert


def _serial_date(number: float) -> datetime.datetime:
    if not EXCEL_SERIALS[0] <= number <= EXCEL_SERIALS[1]:
        raise ConversionError(_("%(value)s is not a spreadsheet date.") % {"value": number})
    return EXCEL_EPOCH + datetime.timedelta(days=number)


def _parse_date(text: str, formats: tuple[str, ...]) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        pass
    for fmt in formats:
        try:
            return datetime.datetime.strptime(text, fmt).date()  # noqa: DTZ007 — a date only
        except ValueError:
            continue
    return None


def _date(field: Field, day_first: bool) -> Callable[[Any], Any]:
    formats = DATE_FORMATS_DMY if day_first else DATE_FORMATS_MDY
    shown = "DD/MM/YYYY" if day_first else "MM/DD/YYYY"

    def convert(value: Any) -> datetime.date:
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return _serial_date(value).date()
        text = value.strip()
        parsed = _parse_date(text, formats)
        if parsed is None and " " in text:
            # A date with a time given to a date field: the date is what counts.
            parsed = _parse_date(text.split(" ", 1)[0], formats)
        if parsed is None:
            raise ConversionError(
                _("“%(value)s” is not a date (write YYYY-MM-DD or %(format)s).")
                % {"value": text, "format": shown}
            )
        return parsed

    return convert


def _datetime(field: Field, day_first: bool) -> Callable[[Any], Any]:
    dates = _date(field, day_first)
    zone = timezone.get_current_timezone()

    def aware(moment: datetime.datetime) -> datetime.datetime:
        return moment if moment.tzinfo else moment.replace(tzinfo=zone)

    def convert(value: Any) -> datetime.datetime:
        if isinstance(value, datetime.datetime):
            return aware(value)
        if isinstance(value, datetime.date):
            return aware(datetime.datetime.combine(value, datetime.time()))
        if isinstance(value, int | float) and not isinstance(value, bool):
            return aware(_serial_date(value))
        text = value.strip()
        try:
            return aware(datetime.datetime.fromisoformat(text))
        except ValueError:
            pass
        day, _sep, clock = text.partition(" ")
        try:
            date = dates(day)
            moment = None
            for fmt in TIME_FORMATS if clock else ():
                try:
                    moment = datetime.datetime.strptime(clock.strip(), fmt).time()  # noqa: DTZ007
                    break
                except ValueError:
                    continue
            if clock and moment is None:
                raise ConversionError(clock)
        except ConversionError:
            raise ConversionError(
                _("“%(value)s” is not a date and time (write YYYY-MM-DD HH:MM).") % {"value": text}
            ) from None
        return aware(datetime.datetime.combine(date, moment or datetime.time()))

    return convert


def _number_text(value: Any) -> str:
    text = to_text(value).strip().replace(" ", "").replace("\u00a0", "")
    if "," in text and "." in text:
        # The separator written last is the decimal one: 1.234,56 or 1,234.56.
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        text = text.replace(",", ".")
    return text


def _decimal(field: Field, day_first: bool) -> Callable[[Any], Any]:
    places = field.decimal_places
    integer_digits = (field.max_digits - places) if field.max_digits is not None else None

    def convert(value: Any) -> Decimal:
        if isinstance(value, float):
            number = Decimal(repr(value))
        else:
            try:
                number = Decimal(_number_text(value))
            except InvalidOperation:
                number = None
        if number is None or not number.is_finite():
            raise ConversionError(_("“%(value)s” is not a number.") % {"value": to_text(value)})
        if places is not None:
            if -number.as_tuple().exponent > places and number != round(number, places):
                raise ConversionError(
                    _("%(value)s has more than %(places)s decimal places.")
                    % {"value": number, "places": places}
                )
            if integer_digits is not None and abs(number) >= Decimal(10) ** integer_digits:
                raise ConversionError(_("%(value)s is too large.") % {"value": number})
            number = round(number, places)
        return number

    return convert


def _integer(field: Field, day_first: bool) -> Callable[[Any], Any]:
    def convert(value: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(to_text(value).strip())
        except ValueError:
            raise ConversionError(
                _("“%(value)s” is not a whole number.") % {"value": to_text(value)}
            ) from None

    return convert


def _boolean(field: Field, day_first: bool) -> Callable[[Any], Any]:
    def convert(value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = normalise(to_text(value))
        if text in TRUE:
            return True
        if text in FALSE:
            return False
        raise ConversionError(
            _("“%(value)s” is not yes or no (write yes/no, true/false or 1/0).")
            % {"value": to_text(value)}
        )

    return convert


def choice_lookup(field: Field) -> dict[str, str]:
    """Every way a file may write an allowed value — the value, its label in English and in
    Brazilian Portuguese — normalised, to the value."""
    from django.utils import translation

    lookup: dict[str, str] = {}
    for value, label in field.choices.choices:
        lookup[value] = value
        lookup[normalise(value)] = value
        with translation.override("en"):
            lookup.setdefault(normalise(str(label)), value)
        with translation.override("pt-br"):
            lookup.setdefault(normalise(str(label)), value)
    return lookup


def _choice(field: Field, day_first: bool) -> Callable[[Any], Any]:
    lookup = choice_lookup(field)
    allowed = ", ".join(field.allowed_values())

    def convert(value: Any) -> str:
        found = lookup.get(value) if value.__class__ is str else None
        if found is None:
            found = lookup.get(normalise(to_text(value)))
        if found is None:
            raise ConversionError(
                _("“%(value)s” is not one of the allowed values: %(allowed)s.")
                % {"value": to_text(value).strip(), "allowed": allowed}
            )
        return found

    return convert


@cache
def _countries() -> dict[str, str]:
    from babel import Locale

    names: dict[str, str] = {}
    for locale in ("en", "pt_BR", "pt_PT", "es", "fr", "de"):
        for code, name in Locale.parse(locale).territories.items():
            if len(code) == 2 and code.isalpha():
                names.setdefault(normalise(name), code)
                names.setdefault(code.lower(), code)
    names.setdefault("usa", "US")
    names.setdefault("uk", "GB")
    return names


def _country(field: Field, day_first: bool) -> Callable[[Any], Any]:
    countries = _countries()

    def convert(value: Any) -> str:
        text = to_text(value).strip()
        code = countries.get(text.lower()) if len(text) == 2 else None
        code = code or countries.get(normalise(text))
        if code is None:
            raise ConversionError(
                _("“%(value)s” is not a country (write its two-letter code, e.g. BR).")
                % {"value": text}
            )
        return code

    return convert


# Quick paths over a whole column for the common cells of a type; every cell they leave
# (``_AGAIN``) goes through the one-cell converter.
_QUICK: dict[FieldType, Callable[[Field], Callable[[Sequence[Any]], list[Any]]]] = {
    FieldType.TEXT: _quick_text,
    FieldType.PHONE: _quick_text,
    FieldType.REFERENCE: _quick_text,
    FieldType.EMAIL: _quick_email,
    FieldType.DATE: _quick_date,
    FieldType.CHOICE: _quick_choice,
    FieldType.COUNTRY: _quick_country,
}

_BUILDERS: dict[FieldType, Callable[[Field, bool], Callable[[Any], Any]]] = {
    FieldType.TEXT: _text,
    FieldType.PHONE: _text,
    FieldType.REFERENCE: _text,
    FieldType.EMAIL: _email,
    FieldType.DATE: _date,
    FieldType.DATETIME: _datetime,
    FieldType.DECIMAL: _decimal,
    FieldType.INTEGER: _integer,
    FieldType.BOOLEAN: _boolean,
    FieldType.CHOICE: _choice,
    FieldType.COUNTRY: _country,
}
