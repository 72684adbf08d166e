"""Set-based database work at batch sizes: a list of values as one parameter, and rows
inserted without a model instance each.

Both exist because the ORM's general path costs more in Python than the database spends on the
statement once a batch holds thousands of records: ``pk__in=ids`` puts a placeholder per id in
the SQL (and the driver splits the statement on every one), and ``bulk_create`` builds, stamps
and flattens an instance per row. DESIGN.md §4: set-based, COPY on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models
from django.db.models import Lookup
from django.utils import timezone

from nightshift.core.audit import current_actor

__all__ = ["InArray", "in_array_sql", "insert_rows"]


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
    COPY on PostgreSQL, one ``executemany`` elsewhere. Returns the number of rows.

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
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((*row, *defaults))
                    count += 1
            return count
        # Other backends store some types their own way (SQLite: datetimes as naive UTC text),
        # so each value goes through its field as the ORM would send it.
        placeholders = ", ".join(["%s"] * (len(given) + len(rest)))
        prepare = [field.get_db_prep_save for field in given]

        def prepared(row: Sequence) -> Iterable:
            return (prep(value, connection) for prep, value in zip(prepare, row, strict=True))

        values = [(*prepared(row), *defaults) for row in rows]
        sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
        cursor.executemany(sql, values)
        return len(values)


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
