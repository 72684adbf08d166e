"""The hot path's SQL: rows as JSON text made by the database, and id lists as one parameter.

Serialising in the database (``json_build_array`` on PostgreSQL, ``json_array`` on SQLite)
writes the same JSON values as ``codec`` writes from Python — ISO 8601 times with their offset,
decimals as strings with their scale — at a fraction of the cost of converting every value in
Python. A list of ids travels as one array (PostgreSQL) or one JSON text (SQLite) rather than
thousands of placeholders, which both Django and the driver would parse one by one.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models
from django.db.models import Q

from nightshift.archiving import codec
from nightshift.core.bulk import in_array_sql

__all__ = ["any_of", "json_rows"]


def _column(model: type[models.Model], attname: str) -> str:
    quote = connection.ops.quote_name
    field = next(f for f in model._meta.concrete_fields if f.attname == attname)
    return f"{quote(model._meta.db_table)}.{quote(field.column)}"


def any_of(model: type[models.Model], attname: str, ids: Sequence[int]) -> Q:
    """A filter: ``model.attname`` is one of ``ids`` (one query parameter however many)."""
    return Q(**{f"{attname}__in_array": list(ids)})


def _value_sql(field: models.Field, column: str) -> str:  # noqa: PLR0911 — one per type
    kind = field.get_internal_type()
    if connection.vendor == "postgresql":
        if kind == "DecimalField":
            return f"{column}::text"
        return column
    # SQLite keeps times as naive UTC text, decimals as numbers, booleans as 0/1.
    if kind == "DateTimeField":
        return (
            f"CASE WHEN {column} IS NULL THEN NULL ELSE replace({column}, ' ', 'T') || '+00:00' END"
        )
    if kind == "DecimalField":
        # "%%" is one "%" once Django has put the parameters in.
        scale = field.decimal_places
        return f"CASE WHEN {column} IS NULL THEN NULL ELSE printf('%%.{scale}f', {column}) END"
    if kind in ("BooleanField", "NullBooleanField"):
        return (
            f"CASE WHEN {column} IS NULL THEN NULL "
            f"WHEN {column} THEN json('true') ELSE json('false') END"
        )
    if kind == "JSONField":
        return f"json({column})"
    return column


def supported() -> bool:
    return connection.vendor in ("postgresql", "sqlite")


def json_rows(model: type[models.Model], attname: str, ids: Sequence[int]) -> list[str]:
    """The rows of ``model`` whose ``attname`` is in ``ids``, by primary key, each as the JSON
    array of its columns (``codec.columns`` order)."""
    fields = codec.columns(model)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    values = ", ".join(_value_sql(f, f"{table}.{quote(f.column)}") for f in fields)
    build = "json_build_array" if connection.vendor == "postgresql" else "json_array"
    cast = "::text" if connection.vendor == "postgresql" else ""
    where, params = in_array_sql(_column(model, attname), list(ids), "bigint", connection.vendor)
    pk = f"{table}.{quote(model._meta.pk.column)}"
    # Names come from the models, never from input; the ids are a parameter.
    sql = f"SELECT {build}({values}){cast} FROM {table} WHERE {where} ORDER BY {pk}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]
