"""Set-based database work at batch sizes: a list of values as one parameter, and rows
inserted without a model instance each.

Both exist because the ORM's general path costs more in Python than the database spends on the
statement once a batch holds thousands of records: ``pk__in=ids`` puts a placeholder per id in
the SQL (and the driver splits the statement on every one), and ``bulk_create`` builds, stamps
and flattens an instance per row. DESIGN.md §4: set-based, COPY on PostgreSQL.
"""

from __future__ import annotations

import datetime
import decimal
import json
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from typing import Any

from django.db import connection, models
from django.db.models import Lookup
from django.utils import timezone

from nightshift.core.audit import current_actor

__all__ = ["InArray", "Same", "copy_text", "in_array_sql", "insert_many", "insert_rows"]


def in_array_sql(column: str, values: list, cast: str, vendor: str) -> tuple[str, list]:
    """SQL and parameters for ``column IN values`` with the values as ONE parameter: an array
    of ``cast`` on PostgreSQL, a JSON text on SQLite, a placeholder each elsewhere. ``column``
    is quoted SQL made from a model, never input."""
    if vendor == "postgresql":
        if all(type(value) is int for value in values):
            # An array literal built once: the driver would otherwise adapt every element.
            return f"{column} = ANY(%s::{cast}[])", ["{" + ",".join(map(str, values)) + "}"]
        return f"{column} = ANY(%s::{cast}[])", [values]
    if vendor == "sqlite":
        sql = f"{column} IN (SELECT value FROM json_each(%s))"  # noqa: S608 — no input in it
        return sql, [json.dumps(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", values


@models.ForeignObject.register_lookup
@models.Field.register_lookup
class InArray(Lookup):
    """``field__in_array=values``: ``field IN values`` with the values bound as ONE parameter,
    however many there are: ``= ANY(%s::type[])`` on PostgreSQL, ``IN (SELECT value FROM
    json_each(%s))`` on SQLite, a plain ``IN`` elsewhere."""

    lookup_name = "in_array"

    def get_prep_lookup(self):
        return [self.lhs.output_field.get_prep_value(value) for value in self.rhs]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if not values:
            # Nothing matches an empty list; no statement needs a parameter for it.
            return "1 = 0", []
        # The cast makes the array the column's type, so the column's index serves.
        cast = self.lhs.output_field.cast_db_type(connection)
        sql, params = in_array_sql(lhs, values, cast, connection.vendor)
        return sql, [*lhs_params, *params]


def insert_rows(model: type[models.Model], names: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert ``rows`` (values of the fields ``names``, in that order) into ``model``'s table:
    COPY on PostgreSQL, ``insert_many`` elsewhere. Returns the number of rows.

    Every other column but the primary key gets its field's default, as an unsaved instance
    would; on an audited model the log information (who, from which unit, when) is stamped as
    ``bulk_create`` stamps it. Values are what the driver takes as they are (numbers, strings,
    dates, decimals, booleans, ``None``); a value needing the field's preparation (JSON) must
    be prepared by the caller on PostgreSQL."""
    meta = model._meta
    given = [meta.get_field(name) for name in names]
    rest = [f for f in meta.concrete_fields if f not in given and not f.primary_key]
    stamps = _audit_stamps() if any(f.name == "created_at" for f in rest) else {}
    defaults = tuple(
        field.get_db_prep_save(stamps.get(field.name, field.get_default()), connection)
        for field in rest
    )
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in [*given, *rest])
    table = quote(meta.db_table)  # table and column names come from the model, never input
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The driver's errors raised as Django's (IntegrityError …), as execute raises them.
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row((*row, *defaults))
                    count += 1
            return count
        # Other backends store some types their own way (SQLite: datetimes as naive UTC text),
        # so each value goes through its field as the ORM would send it.
        prepare = [field.get_db_prep_save for field in given]

        def prepared(row: Sequence) -> Iterable:
            return (prep(value, connection) for prep, value in zip(prepare, row, strict=True))

        values = [tuple(prepared(row)) for row in rows]
        insert_many(cursor, f"INSERT INTO {table} ({columns})", values, same=defaults)
        return len(values)


# SQLite: rows an INSERT at most. The driver keeps each statement it ran compiled (up to 128
# of them), about 4 KB a row of a wide table such as contacts: 4,096 rows write a million
# contacts as fast as the 7,350 that Debian's SQLite (250,000 parameters) takes, in 20 MB less.
ROWS_A_STATEMENT = 4096


def insert_many(
    cursor, insert: str, rows: Sequence[Sequence], suffix: str = "", same: Sequence = ()
) -> None:
    """Run ``insert`` (``INSERT INTO table (columns)``) with ``rows`` as its values, followed
    by ``suffix`` (``ON CONFLICT …``); both are SQL made from a model, never input. ``same``
    are the values of the last columns, the same on every row (defaults, stamps): each row
    gives only the columns before them.

    On SQLite a statement carries thousands of rows (``ROWS_A_STATEMENT``, or fewer if the
    parameters would not fit): the database writes them in one step, during which Python's
    lock is free for another thread, and without Python binding and stepping a statement per
    row as ``executemany`` does. ``same`` is bound once a statement, not once a row
    (``INSERT … SELECT column1, …, ?, … FROM (VALUES …)``): binding is most of what a wide
    table's insert costs SQLite beyond the write itself. Elsewhere, one ``executemany``."""
    if not rows:
        return
    width = len(rows[0])
    db = cursor.db
    if db.vendor != "sqlite":
        placeholders = ", ".join(["%s"] * (width + len(same)))
        values = [(*row, *same) for row in rows] if same else rows
        cursor.executemany(f"{insert} VALUES ({placeholders}) {suffix}", values)
        return
    raw = db.connection
    limit = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) - len(same)
    per = max(1, min(ROWS_A_STATEMENT, limit // width))  # as many as the parameters allow
    row = "(" + ", ".join(["?"] * width) + ")"
    if same:
        # WHERE true: without it, SQLite would read the ON CONFLICT of the suffix as a join's.
        given = ", ".join([f"column{n}" for n in range(1, width + 1)] + ["?"] * len(same))
        head = f"{insert} SELECT {given} FROM (VALUES"  # noqa: S608 — no input in it
        tail, first = f") WHERE true {suffix}", same
    else:
        head, tail, first = f"{insert} VALUES", suffix, ()
    start = 0
    with db.wrap_database_errors:
        while left := len(rows) - start:
            # The rows past the last full statement go in statements of 2,048, 1,024, … 1
            # rows: batches of any size share a dozen compiled statements, not one per size.
            count = per if left >= per else 1 << (left.bit_length() - 1)
            # The driver's own connection: Django's cursor would rewrite every placeholder.
            raw.execute(
                f"{head} {', '.join([row] * count)} {tail}",
                [*first, *chain.from_iterable(rows[start : start + count])],
            )
            start += count


def _audit_stamps() -> dict[str, Any]:
    actor = current_actor()
    now = timezone.now()
    user = actor.user_id if actor else None
    unit = actor.unit_id if actor else None
    return {
        "created_at": now,
        "updated_at": now,
        "created_by": user,
        "created_by_unit": unit,
        "updated_by": user,
        "updated_by_unit": unit,
    }


# -- PostgreSQL COPY text, a column at a time ---------------------------------------------------

_NULL = "\\N"
_SPECIAL = ("\\", "\t", "\n", "\r")
_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
# How a value of each type is written in COPY text (strings, escaped, are handled apart).
_TEXT_OF = {
    int: int.__repr__,
    bool: lambda value: "t" if value else "f",
    float: float.__repr__,
    decimal.Decimal: str,
    datetime.date: datetime.date.isoformat,
    datetime.datetime: datetime.datetime.isoformat,
    datetime.time: datetime.time.isoformat,
    uuid.UUID: str,
}


@dataclass(frozen=True, slots=True)
class Same:
    """A column holding one value on every row."""

    value: Any


def copy_text(columns: Sequence[Sequence[Any] | Same], count: int) -> bytes | None:
    """``count`` rows given as their ``columns`` (each ``count`` values, or ``Same``) in
    PostgreSQL's COPY text format, or ``None`` when a column holds a value of a type this does
    not write (the caller then lets the driver adapt each row).

    The same text as the driver's ``write_row`` makes, built a column at a time: a column's
    values are typed once, strings are escaped only when the column holds a special
    character, and the rows are joined at C speed — the driver adapts every value of every
    row on its own, which costs more than the server spends storing the row. Neighbouring
    ``Same`` columns are joined once, as one column, and those ending the row end each line:
    a row of ten given columns and two dozen defaults is joined as ten pieces, not thirty-four.
    """
    texts: list[Sequence[str] | str] = []  # a column's texts, or one text for every row
    for values in columns:
        if isinstance(values, Same):
            text = _column_text([values.value], 1)
            if text is None:
                return None
            text = next(iter(text))
            if texts and isinstance(texts[-1], str):  # next to another: one column
                texts[-1] = f"{texts[-1]}\t{text}"
            else:
                texts.append(text)
            continue
        text = _column_text(values, count)
        if text is None:
            return None
        texts.append(text)
    if not count:
        return b""
    end = f"\t{texts.pop()}\n" if isinstance(texts[-1], str) else "\n"
    if not texts:  # every column the same
        return (end[1:] * count).encode()
    pieces = [repeat(text, count) if isinstance(text, str) else text for text in texts]
    # Not strict: a column holding the same value on every row repeats without end.
    return (end.join(map("\t".join, zip(*pieces, strict=False))) + end).encode()


def _column_text(values: Sequence[Any], count: int) -> Sequence[str] | None:
    kinds = set(map(type, values))
    nulls = type(None) in kinds
    kinds.discard(type(None))
    if not kinds:
        return repeat(_NULL, count)
    if all(issubclass(kind, str) for kind in kinds):  # text choices are str subclasses
        present = [value for value in values if value is not None] if nulls else values
        if any(special in "".join(present) for special in _SPECIAL):
            text = [None if value is None else value.translate(_ESCAPE) for value in values]
        else:
            text = list(values)
    else:
        convert = _TEXT_OF.get(next(iter(kinds))) if len(kinds) == 1 else None
        if convert is None and all(issubclass(k, int) and k is not bool for k in kinds):
            convert = int.__repr__  # integer choices
        if convert is None:
            return None
        text = [None if value is None else convert(value) for value in values]
    if nulls:
        text = [_NULL if value is None else value for value in text]
    return text
