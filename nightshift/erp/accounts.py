"""What the account routines share: the "audience" criterion and a set-based write of many
contacts' fields, each contact with its own values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from nightshift.crm.models import Audience, Contact
from nightshift.processes.base import ParameterError, ProcessFailed

__all__ = ["audience_contacts", "bulk_set", "check_audience", "contact_codes"]

# Rows per UPDATE … FROM (VALUES …) statement: 1,000 rows of 11 columns stay well under
# SQLite's 32,766 bound parameters and make a 2,500-record batch three statements.
ROWS_PER_STATEMENT = 1000


def check_audience(reference: int | str | None, field: str = "audience") -> str | None:
    """The name of the audience ``reference`` names (an id or a name), ``None`` for none;
    ``ParameterError`` on ``field`` if it names none or its criteria are not valid."""
    if reference in (None, ""):
        return None
    lookup = {"pk": reference} if isinstance(reference, int) else {"name": reference}
    audience = Audience.objects.filter(**lookup).first()
    if audience is None:
        raise ParameterError({field: _("Unknown audience: %(ref)s.") % {"ref": reference}})
    try:
        audience.clean()
    except ValidationError as exc:
        raise ParameterError({field: " ".join(exc.messages)}) from None
    return audience.name


def audience_contacts(name: str | None) -> QuerySet[Contact]:
    """Every contact, or those of the audience ``name``. An audience removed or made invalid
    since the definition was saved fails the run with the reason (``ProcessFailed``)."""
    if not name:
        return Contact.objects.all()
    audience = Audience.objects.filter(name=name).first()
    if audience is None:
        raise ProcessFailed(
            _("The audience “%(name)s” no longer exists; edit the run definition.") % {"name": name}
        )
    try:
        return audience.contacts()
    except ValidationError as exc:
        raise ProcessFailed(
            _("The audience “%(name)s” cannot be used: %(error)s")
            % {"name": name, "error": " ".join(exc.messages)}
        ) from None


def contact_codes(queryset: QuerySet[Contact], ids: Sequence[int]) -> dict[int, str]:
    """``id -> code`` of the contacts of ``ids`` still in ``queryset`` (one query)."""
    return dict(queryset.filter(pk__in=list(ids)).values_list("pk", "code"))


def bulk_set(model: type, fields: Sequence[str], values: Mapping[int, Mapping[str, Any]]) -> int:
    """Set ``fields`` of each row ``pk`` of ``values`` to its own values, in one
    ``UPDATE … FROM (VALUES …)`` per ``ROWS_PER_STATEMENT`` rows (PostgreSQL and SQLite ≥ 3.33;
    ``bulk_update``'s ``CASE`` per column elsewhere). Returns the number of rows written.

    Values are adapted by the fields themselves (``get_db_prep_save``), so decimals, dates and
    empty strings are stored as ``QuerySet.update`` would store them.
    """
    if not values:
        return 0
    meta = model._meta
    model_fields = [meta.get_field(name) for name in fields]
    if connection.vendor not in ("postgresql", "sqlite"):
        objects = [model(pk=pk, **row) for pk, row in values.items()]
        return model.objects.bulk_update(objects, list(fields), batch_size=ROWS_PER_STATEMENT)
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    pk_column = quote(meta.pk.column)
    # SQLite names the columns of VALUES column1, column2…; PostgreSQL takes them as aliases.
    if connection.vendor == "sqlite":
        columns = [f"column{index}" for index in range(1, len(fields) + 2)]
        alias = "v"
    else:
        columns = ["pk", *(f"c{index}" for index in range(len(fields)))]
        alias = f"v({', '.join(columns)})"
    assignments = ", ".join(
        f"{quote(field.column)} = {_typed(f'v.{column}', field)}"
        for column, field in zip(columns[1:], model_fields, strict=True)
    )
    items = list(values.items())
    written = 0
    with connection.cursor() as cursor:
        for start in range(0, len(items), ROWS_PER_STATEMENT):
            chunk = items[start : start + ROWS_PER_STATEMENT]
            params: list[Any] = []
            for pk, row in chunk:
                params.append(pk)
                params.extend(
                    field.get_db_prep_save(row[field.name], connection) for field in model_fields
                )
            placeholders = ", ".join("(" + ", ".join(["%s"] * len(columns)) + ")" for _row in chunk)
            # Names come from the model, never from input; values are bound parameters.
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM (VALUES {placeholders}) "  # noqa: S608
                f"AS {alias} WHERE {table}.{pk_column} = v.{columns[0]}",
                params,
            )
            written += cursor.rowcount
    return written


def _typed(column: str, field) -> str:
    """PostgreSQL types a VALUES column from its first rows; an explicit cast makes a column
    of NULLs, dates or decimals what the field stores. SQLite needs none (and a CAST AS date
    there would turn '2026-01-02' into 2026)."""
    if connection.vendor != "postgresql":
        return column
    return f"CAST({column} AS {field.db_type(connection)})"
