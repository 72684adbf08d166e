"""Validating and writing a batch of rows: from cells to records, set-based.

``Loader.load(rows)`` takes a batch of ``(row number, cells)`` and returns one ``RowResult``
per row — created, updated or rejected with the reason — after writing the batch with one
statement per table: on PostgreSQL the new records ``COPY``'d straight into the table (as COPY
text made a column at a time) and the existing ones ``COPY``'d into a staging table then
written by ``INSERT … SELECT … ON CONFLICT``; on SQLite ``INSERT … ON CONFLICT`` of thousands of
rows a statement. With "update existing records" off, PostgreSQL writes the rows as new without
looking their codes up, the code's unique constraint deciding: when the database refuses the
batch, it is looked up and written again. Only when the database refuses a statement of a
looked-up batch (a constraint no row check foresaw) are its rows written one by one, each in a
savepoint, so that only the rows at fault are rejected, with the database's reason.

``Loader.preview(rows)`` says what ``load`` would do, writing nothing.

Per row, in order: the cells convert to the mapped fields' types; input settings override
them; required fields must have a value; the row's code must not repeat an earlier row's (the
later row is rejected, the earlier kept); the importer's own rules across fields; references
(classification, warehouse, product …) must exist or, with "create missing attributes", are
created; an existing record is updated only with "update existing records".
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, models, transaction
from django.utils.translation import gettext as _

from nightshift.core.audit import stamp
from nightshift.core.bulk import Same, copy_text, in_array_sql, insert_many
from nightshift.imports.conversion import (
    ConversionError,
    column_converter,
    converter,
    to_text,
)
from nightshift.imports.registry import Field, FieldType, Importer
from nightshift.imports.seen import SeenKeys

__all__ = ["CREATE", "REJECT", "UPDATE", "Loader", "Options", "RowResult"]

CREATE, UPDATE, REJECT = "create", "update", "reject"
AUDIT_FIELDS = (
    "created_at",
    "updated_at",
    "created_by",
    "created_by_unit",
    "updated_by",
    "updated_by_unit",
)
UPDATE_AUDIT = ("updated_at", "updated_by", "updated_by_unit")


@dataclass
class Options:
    """The import's options as the wizard names them."""

    header: bool = True  # do not import the first row (it is the header)
    update_existing: bool = False  # update records whose code exists; off: report the row
    create_missing: bool = False  # create missing classifications, warehouses, families …
    fixed: dict[str, Any] = field(default_factory=dict)  # input settings: field → value
    day_first: bool = True  # 03/04/2026 is 3 April (off: 4 March)


@dataclass(slots=True)
class RowResult:
    row: int
    action: str  # CREATE, UPDATE or REJECT
    message: str = ""


@dataclass(slots=True)
class Prepared:
    """A batch as far as it goes before its transaction: checked (the rows that pass, with
    their values and code, and the rows rejected) and, when ``planned`` is set, with its
    references and existing records looked up too, ready to write."""

    good: list[tuple[int, dict[str, Any], Any]]
    rejected: list[RowResult]
    resolved: list[tuple[int, dict[str, Any], Any]] | None = None  # good, references resolved
    planned: list[tuple[int, dict[str, Any], bool]] | None = None  # resolved, to write
    refused: list[RowResult] = field(default_factory=list)  # resolved, refused by their rules
    optimistic: bool = False  # planned as new without their codes looked up
    params: Params | None = None  # SQLite: the planned rows as the table's columns
    copy: bytes | None = None  # PostgreSQL: the planned new rows as COPY text
    results: list[RowResult] | None = None  # what becomes of each row, if written as planned


@dataclass(frozen=True, slots=True)
class Params:
    """A batch's rows as the table's columns: per row, the columns the file gives (``rows``);
    for every row, the rest (``same``: defaults and stamps)."""

    rows: list[tuple]
    same: tuple

    def records(self) -> Iterator[tuple]:
        """Each row's values of all the columns."""
        same = self.same
        return ((*row, *same) for row in self.rows)


class _CodeTaken(Exception):
    """The database refused rows written as new without their codes looked up: one may be
    there already."""


class Loader:
    """Validates and writes batches of one file's rows into one importer's model.

    ``columns`` are the file's column names and ``mapping`` maps each field read from the
    file to its column index. ``code_prefix`` starts the codes generated for rows without
    one (importers with ``generates_code``); it must differ between imports.
    """

    def __init__(
        self,
        importer: Importer,
        columns: Sequence[str],
        mapping: Mapping[str, int],
        options: Options,
        *,
        code_prefix: str = "",
    ) -> None:
        self.importer = importer
        self.model = importer.model
        self.columns = list(columns)
        self.options = options
        self.code_prefix = code_prefix
        fields = importer.bound_fields
        self.mapped = [
            (fields[name], index, column_converter(fields[name], day_first=options.day_first))
            for name, index in mapping.items()
            if name not in options.fixed
        ]
        self.fixed = convert_fixed(importer, options.fixed, day_first=options.day_first)
        self.given = {f.name for f, _index, _convert in self.mapped} | set(self.fixed)
        self.required = [
            f for f in importer.bound_fields.values() if f.required and f.name in self.given
        ]
        self.references = [fields[name] for name in self.given if fields[name].reference]
        # Whether a batch may create records it refers to (classifications, warehouses …).
        self.creates = options.create_missing and any(
            f.reference.creatable for f in self.references
        )
        # A blank cell of a field that cannot be empty in the database takes the field's
        # default (kind, status, currency …; "" for text).
        self.blank_defaults = {
            name: self.model._meta.get_field(name).get_default()
            for name in self.given
            if not self.model._meta.get_field(name).null and not fields[name].reference
        }
        self.generates = importer.generates_code
        # Rows are written as new without looking their codes up first when the database
        # refuses a second record with the same code: with "update existing records" off, a
        # code already there only rejects its row, so the batch is then looked up and written
        # again — and the following ones looked up first.
        self.optimistic = (
            connection.vendor == "postgresql"
            and not options.update_existing
            and _unique_together(self.model, importer.match)
        )
        # The match keys of the rows read so far (duplicates), in a few bytes each.
        self.seen = SeenKeys()
        self.found: dict[str, dict[str, int]] = {f.name: {} for f in self.references}
        self.width = len(self.columns)
        self._notes: dict[int, list[str]] = {}  # a preview's "creates …" per row
        self._writer = _Writer(self)

    # -- reading --------------------------------------------------------------------------

    def label(self, field_name: str) -> str:
        """How a message names a field: by its column when the file gives it."""
        f = self.importer.field(field_name)
        for mapped, index, _convert in self.mapped:
            if mapped.name == field_name:
                return _("Column “%(column)s” (%(field)s)") % {
                    "column": self.columns[index],
                    "field": field_name,
                }
        return _("Field “%(label)s” (%(field)s)") % {"label": f.label, "field": field_name}

    def key_of(self, row: int, values: dict[str, Any]) -> Any:
        match = self.importer.match
        if len(match) == 1:
            key = values.get(match[0])
            if not key and self.generates:
                key = values[match[0]] = f"{self.code_prefix}{row:07d}"
            return key
        return tuple(values.get(name) for name in match)

    def remember(self, rows: Sequence[tuple[int, Sequence[Any]]]) -> None:
        """Note the codes of rows already imported (a run resumed after a crash), so that a
        later row repeating one is still reported as a duplicate."""
        records, errors = self._convert([cells for _row, cells in rows])
        for position, ((row, _cells), values) in enumerate(zip(rows, records, strict=True)):
            if position not in errors:
                self.seen.add(self.key_of(row, values))

    def _convert(
        self, batch: Sequence[Sequence[Any]]
    ) -> tuple[list[dict[str, Any]], dict[int, list[str]]]:
        """The rows' cells as their fields' values, converted a column at a time, and the
        messages of each row with problems, by its position in ``batch``."""
        count = len(batch)
        errors: dict[int, list[str]] = {}
        names: list[str] = []
        columns: list[Iterable[Any]] = []
        try:
            # The file's columns at C speed: the rows checked against the header have its width.
            by_index = list(zip(*batch, strict=True))
        except ValueError:  # rows of other widths (remembered on a resume)
            by_index = []
        for f, index, convert in self.mapped:
            if index < len(by_index):
                cells = by_index[index]
            else:  # a row shorter than the header, or no row
                cells = [row[index] if index < len(row) else None for row in batch]
            column, problems = convert(cells)
            if problems:
                where = self.label(f.name)
                for position, message in problems.items():
                    errors.setdefault(position, []).append(f"{where}: {message}")
                    column[position] = ""  # not blank: "a value is required" would be wrong
            names.append(f.name)
            columns.append(column)
        for name, value in self.fixed.items():
            names.append(name)
            columns.append(repeat(value, count))
        self._check_required(names, columns, count, errors)
        for name, default in self.blank_defaults.items():
            at = names.index(name)
            if name in self.fixed:
                if self.fixed[name] is None:
                    columns[at] = repeat(default, count)
            elif None in columns[at]:
                columns[at] = [default if value is None else value for value in columns[at]]
        # Every column has ``count`` values: the rows as dictionaries, built without a loop
        # of Python's.
        return list(map(dict, map(zip, repeat(names), zip(*columns, strict=False)))), errors

    def _check_required(
        self, names: list[str], columns: list, count: int, errors: dict[int, list[str]]
    ) -> None:
        for f in self.required:
            if self.generates and f.name in self.importer.match:
                continue
            if f.name in self.fixed:
                missing = range(count) if self.fixed[f.name] is None else range(0)
            else:
                missing = _positions(columns[names.index(f.name)], None)
            message = _("%(where)s: a value is required.") % {"where": self.label(f.name)}
            for position in missing:
                errors.setdefault(position, []).append(message)

    def prepare(self, rows: Sequence[tuple[int, Sequence[Any]]], *, look_up: bool) -> Prepared:
        """What can be done of a batch before its transaction, so that it may run ahead of the
        batch being written, in another thread (with a connection of its own): the rows
        converted and checked and, with ``look_up`` — unless the import creates missing
        records, which only the batch's transaction may do — references and existing records
        looked up. Codes are remembered as seen: batches are prepared in the file's order."""
        prepared = Prepared(*self._check(rows))
        if look_up and not self.creates:
            self._settle(prepared, write=False, optimistic=self.optimistic)
            if connection.vendor == "postgresql":
                prepared.copy = self._writer.copy_data(
                    [entry for entry in prepared.planned if not entry[2]]
                )
            else:
                prepared.params = self._writer.params(prepared.planned)
            prepared.results = _results(prepared)
        return prepared

    def _check(
        self, rows: Sequence[tuple[int, Sequence[Any]]]
    ) -> tuple[list[tuple[int, dict[str, Any], Any]], list[RowResult]]:
        """The rows that pass on their own, with their values and code; the rows rejected."""
        good: list[tuple[int, dict[str, Any], Any]] = []
        rejected: list[RowResult] = []
        if self.width:
            whole = [(row, cells) for row, cells in rows if len(cells) == self.width]
            if len(whole) < len(rows):
                rejected = [
                    RowResult(row, REJECT, self._width_message(len(cells)))
                    for row, cells in rows
                    if len(cells) != self.width
                ]
                rows = whole
        records, errors = self._convert([cells for _row, cells in rows])
        seen = self.seen
        for position, ((row, _cells), values) in enumerate(zip(rows, records, strict=True)):
            problems = errors.get(position)
            key = self.key_of(row, values) if problems is None else None
            if key is not None and not seen.add(key):  # added unless an earlier row had it
                problems = [
                    _(
                        "%(where)s: “%(code)s” repeats the code of an earlier row of the file; "
                        "the earlier row is kept."
                    )
                    % {"where": self.label(self.importer.match[-1]), "code": _show(key)}
                ]
            if problems:
                rejected.append(RowResult(row, REJECT, " ".join(problems)))
                continue
            good.append((row, values, key))
        return good, rejected

    def _width_message(self, found: int) -> str:
        if found < self.width:
            return _(
                "The row has %(found)s values but the file has %(width)s columns; the file "
                "may have been cut short."
            ) % {"found": found, "width": self.width}
        return _(
            "The row has %(found)s values but the file has %(width)s columns; a value may "
            "contain an unquoted delimiter."
        ) % {"found": found, "width": self.width}

    # -- references -----------------------------------------------------------------------

    def _resolve(
        self, good: list[tuple[int, dict[str, Any], Any]], *, write: bool
    ) -> tuple[list[tuple[int, dict[str, Any], Any]], list[RowResult]]:
        """Replace reference values by ids; rows naming a missing record are rejected unless
        it may be created (on write; a preview notes what it would create). Returns the rows
        and the rejects."""
        created: dict[str, set[str]] = {}
        for f in self.references:
            wanted = {v[f.name] for _r, v, _k in good if v.get(f.name) not in (None, "")}
            found = self.found[f.name]
            self._look_up(f, wanted - found.keys())
            missing = wanted - found.keys()
            if missing and self.options.create_missing and f.reference.creatable:
                created[f.name] = missing
                if write:
                    self._create(f, missing)
        kept: list[tuple[int, dict[str, Any], Any]] = []
        rejected: list[RowResult] = []
        for row, values, key in good:
            errors = []
            for f in self.references:
                value = values.get(f.name)
                if value in (None, ""):
                    values[f.name] = None
                    continue
                record_id = self.found[f.name].get(value)
                if record_id is None and value in created.get(f.name, ()):
                    record_id = 0  # created on write; a preview only says so
                    what = f.reference.model_class()._meta.verbose_name
                    self._notes.setdefault(row, []).append(
                        _("creates %(what)s “%(value)s”") % {"what": what, "value": value}
                    )
                if record_id is None:
                    errors.append(self._missing_message(f, value))
                values[f.name] = record_id
            if errors:
                rejected.append(RowResult(row, REJECT, " ".join(errors)))
            else:
                kept.append((row, values, key))
        return kept, rejected

    def _look_up(self, f: Field, values: set[str]) -> None:
        if not values:
            return
        model = f.reference.model_class()
        lookup = f.reference.lookup
        found = self.found[f.name]
        values = sorted(values)
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            rows = model._default_manager.filter(**{f"{lookup}__in": chunk})
            found.update(rows.values_list(lookup, "pk"))

    def _create(self, f: Field, values: set[str]) -> None:
        model = f.reference.model_class()
        model._default_manager.bulk_create(
            [model(**f.reference.new_record(value)) for value in sorted(values)],
            ignore_conflicts=True,
        )
        self._look_up(f, values)

    def _missing_message(self, f: Field, value: str) -> str:
        what = f.reference.model_class()._meta.verbose_name
        message = _("%(where)s: there is no %(what)s “%(value)s”.") % {
            "where": self.label(f.name),
            "what": what,
            "value": value,
        }
        if f.reference.creatable and not self.options.create_missing:
            message += " " + _("Turn on “create missing attributes” to create it.")
        return message

    # -- existing records -----------------------------------------------------------------

    def _existing(self, good: list[tuple[int, dict[str, Any], Any]]) -> dict[Any, int]:
        """The primary keys of the records the rows' codes already name, by match key."""
        match = self.importer.match
        if not good:
            return {}
        if len(match) == 1:
            # Straight SQL: the ORM would prepare each of the batch's thousands of codes.
            meta = self.model._meta
            code = meta.get_field(match[0])
            quote = connection.ops.quote_name
            condition, params = in_array_sql(
                quote(code.column),
                [values[match[0]] for _r, values, _k in good],
                code.cast_db_type(connection),
                connection.vendor,
            )
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {quote(code.column)}, {quote(meta.pk.column)} "  # noqa: S608
                    f"FROM {quote(meta.db_table)} WHERE {condition}",
                    params,
                )
                return dict(cursor.fetchall())
        attnames = [self.model._meta.get_field(name).attname for name in match]
        lookups = {
            f"{attname}__in_array": list({values[name] for _r, values, _k in good})
            for attname, name in zip(attnames, match, strict=True)
        }
        rows = self.model._default_manager.filter(**lookups).values_list(*attnames, "pk")
        return {tuple(found[:-1]): found[-1] for found in rows}

    def _db_key(self, values: dict[str, Any]) -> Any:
        match = self.importer.match
        if len(match) == 1:
            return values[match[0]]
        return tuple(values[name] for name in match)

    # -- the batch ------------------------------------------------------------------------

    def _settle(self, prepared: Prepared, *, write: bool, optimistic: bool) -> None:
        """References resolved, existing records found (not when the rows are to be written
        as new ``optimistic``-ally), each row's own rules applied."""
        resolved, missing = self._resolve(prepared.good, write=write)
        prepared.resolved = resolved
        prepared.rejected = [*prepared.rejected, *missing]
        prepared.optimistic = optimistic
        self._decide(prepared, {} if optimistic else self._existing(resolved))

    def _decide(self, prepared: Prepared, existing: dict[Any, int]) -> None:
        """Each resolved row planned (to create or update) or refused by its own rules."""
        planned: list[tuple[int, dict[str, Any], bool]] = []
        refused: list[RowResult] = []
        # A row's values are the fields it gives, unless a code was generated for it.
        as_given = set(self.importer.match) <= self.given
        check_row = self.importer.check_row
        for row, values, _key in prepared.resolved:
            exists = self._db_key(values) in existing
            errors = check_row(
                values if as_given else {n: values[n] for n in self.given if n in values},
                creating=not exists,
            )
            if errors:
                refused.append(
                    RowResult(
                        row,
                        REJECT,
                        " ".join(f"{self.label(name)}: {msg}" for name, msg in errors.items()),
                    )
                )
            elif exists and not self.options.update_existing:
                refused.append(
                    RowResult(
                        row,
                        REJECT,
                        _(
                            "%(where)s: “%(code)s” already exists and “update existing records” "
                            "is off; it was left unchanged."
                        )
                        % {"where": self.label(self.importer.match[-1]), "code": _show(_key)},
                    )
                )
            else:
                planned.append((row, values, exists))
        prepared.planned, prepared.refused = planned, refused

    def preview(self, rows: Sequence[tuple[int, Sequence[Any]]]) -> list[RowResult]:
        """What ``load`` would do with ``rows``, writing nothing."""
        prepared = Prepared(*self._check(rows))
        self._settle(prepared, write=False, optimistic=False)
        results = prepared.rejected + prepared.refused
        for row, _values, exists in prepared.planned:
            notes = "; ".join(self._notes.pop(row, []))
            results.append(RowResult(row, UPDATE if exists else CREATE, notes))
        self._notes.clear()
        return sorted(results, key=lambda result: result.row)

    def load(
        self,
        rows: Sequence[tuple[int, Sequence[Any]]],
        prepared: Prepared | None = None,
        *,
        sent: Callable[[], None] | None = None,
    ) -> list[RowResult]:
        """Write ``rows`` (one batch) and say what happened to each; ``prepared`` is what
        ``prepare`` made of them, when it ran ahead. ``sent`` is called once the rows are on
        their way to the database (or ready to go, as COPY text), before waiting for it to
        have written them."""
        if prepared is None:
            prepared = Prepared(*self._check(rows))
        if prepared.planned is None:  # not looked up ahead
            self._settle(prepared, write=True, optimistic=self.optimistic)
        self._writer.sent = sent
        try:
            try:
                written = self._writer.write(
                    prepared.planned, prepared.params, prepared.copy, prepared.optimistic
                )
            except _CodeTaken:  # looked up, decided and written again; the next batches too
                self.optimistic = prepared.optimistic = False
                self._decide(prepared, self._existing(prepared.resolved))
                prepared.results = None
                written = self._writer.write(prepared.planned)
        finally:
            self._writer.notify_sent()
        if written is not None:  # not as planned: row by row
            results = prepared.rejected + prepared.refused + written
            return sorted(results, key=lambda result: result.row)
        return prepared.results if prepared.results is not None else _results(prepared)


def _results(prepared: Prepared) -> list[RowResult]:
    """What becomes of each row of a planned batch written as planned, in the rows' order."""
    written = [RowResult(row, UPDATE if exists else CREATE) for row, _v, exists in prepared.planned]
    return sorted(prepared.rejected + prepared.refused + written, key=lambda result: result.row)


def _unique_together(model: type[models.Model], names: Sequence[str]) -> bool:
    """Whether the database refuses two records of ``model`` with the same ``names``."""
    if len(names) == 1 and model._meta.get_field(names[0]).unique:
        return True
    return any(
        set(constraint.fields) == set(names) for constraint in model._meta.total_unique_constraints
    )


def _positions(values: list[Any], wanted: Any) -> Iterator[int]:
    """Where ``wanted`` is in ``values`` (found by the list's own search, not a loop here)."""
    position = -1
    while True:
        try:
            position = values.index(wanted, position + 1)
        except ValueError:
            return
        yield position


def _show(key: Any) -> str:
    return " / ".join(map(to_text, key)) if isinstance(key, tuple) else to_text(key)


def convert_fixed(
    importer: Importer, fixed: Mapping[str, Any], *, day_first: bool = True
) -> dict[str, Any]:
    """Input settings converted to their fields' types; ``ValueError`` naming the first
    field whose value does not convert (or that the importer does not have)."""
    converted: dict[str, Any] = {}
    for name, value in fixed.items():
        if name not in importer.bound_fields:
            raise ValueError(_("%(field)s: there is no such field.") % {"field": name})
        f = importer.field(name)
        try:
            converted[name] = converter(f, day_first=day_first)(value)
        except ConversionError as exc:
            raise ValueError(f"{name}: {exc}") from None
    return converted


class _Writer:
    """The set-based upsert of one batch's planned rows."""

    def __init__(self, loader: Loader) -> None:
        self.loader = loader
        self.sent: Callable[[], None] | None = None
        model = loader.model
        meta = model._meta
        quote = connection.ops.quote_name
        fields = [f for f in meta.concrete_fields if not f.primary_key]
        # The columns each row gives (a generated code included), then those every row shares
        # (defaults, stamps).
        from_rows = loader.given | (set(loader.importer.match) if loader.generates else set())
        self.given = [f for f in fields if f.name in from_rows]
        self.shared = [f for f in fields if f.name not in from_rows]
        self.fields = [*self.given, *self.shared]
        self.table = quote(meta.db_table)
        self.columns = ", ".join(quote(f.column) for f in self.fields)
        conflict = ", ".join(quote(meta.get_field(name).column) for name in loader.importer.match)
        if loader.options.update_existing:
            # What the rows give and the update's log stamps; never the match key itself.
            updated = [
                f
                for f in self.fields
                if (f.name in from_rows or f.name in UPDATE_AUDIT)
                and f.name not in loader.importer.match
            ]
            sets = ", ".join(f"{quote(f.column)} = EXCLUDED.{quote(f.column)}" for f in updated)
            self.on_conflict = f"ON CONFLICT ({conflict}) DO UPDATE SET {sets}"
        else:
            self.on_conflict = f"ON CONFLICT ({conflict}) DO NOTHING"
        placeholders = ", ".join(["%s"] * len(self.fields))
        # Table and column names come from the model, never from the file.
        self.into = f"INSERT INTO {self.table} ({self.columns})"
        self.insert = f"{self.into} VALUES ({placeholders}) {self.on_conflict}"

    def _defaults(self) -> dict[str, Any]:
        """A created record's values for the fields the file does not give."""
        defaults = {f.name: f.get_default() for f in self.fields}
        defaults.update(self.loader.importer.new_record_defaults())
        audit = stamp({}, creating=True)
        for name in AUDIT_FIELDS:
            key = name if name.endswith("_at") else f"{name}_id"
            if key in audit and name in defaults:
                defaults[name] = audit[key]
        return defaults

    def params(self, planned: list[tuple[int, dict[str, Any], bool]]) -> Params:
        """The rows' values of the columns they give, else the defaults. On SQLite, values are
        adapted here (the driver would call an adapter per value): the defaults once per
        batch, the rows' values a column at a time, by their field's type."""
        defaults = self._defaults()
        sqlite = connection.vendor == "sqlite"
        records = [values for _row, values, _exists in planned]
        columns = []
        for f in self.given:
            column = list(map(itemgetter(f.name), records))
            if sqlite and (adapt := _sqlite_adapter(f)) is not None:
                column = [
                    value if value is None or value.__class__ is str else adapt(value)
                    for value in column
                ]
            columns.append(column)
        same = (
            defaults[f.name] if not sqlite else f.get_db_prep_save(defaults[f.name], connection)
            for f in self.shared
        )
        return Params(list(zip(*columns, strict=True)), tuple(same))

    def copy_data(self, planned: list[tuple[int, dict[str, Any], bool]]) -> bytes | None:
        """PostgreSQL: the planned rows as COPY text of the table's columns, made a column at
        a time (``None`` when a value is of a type COPY text is not made of here)."""
        defaults = self._defaults()
        records = [values for _row, values, _exists in planned]
        columns = [list(map(itemgetter(f.name), records)) for f in self.given]
        columns += [Same(defaults[f.name]) for f in self.shared]
        return copy_text(columns, len(records))

    def write(
        self,
        planned: list[tuple[int, dict[str, Any], bool]],
        params: Params | None = None,
        copy: bytes | None = None,
        optimistic: bool = False,
    ) -> list[RowResult]:
        """Write the planned rows (``params``: their columns, or on PostgreSQL ``copy``: the
        new ones as COPY text, when already made). ``optimistic``: planned as new without
        their codes looked up — ``_CodeTaken`` if the database refuses them. Returns ``None``
        when every row was written as planned, else what became of each (row by row)."""
        if not planned:
            return None
        try:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    self._copy(planned, copy, optimistic)
                else:
                    params = params or self.params(planned)
                    self.notify_sent()  # the database writes without Python: the next batch may go
                    with connection.cursor() as cursor:
                        insert_many(
                            cursor, self.into, params.rows, self.on_conflict, same=params.same
                        )
        except DatabaseError:
            if optimistic:  # the codes were not looked up: the rows are, first
                raise _CodeTaken from None
            return self._one_by_one(planned, self.params(planned))
        return None

    def _copy(
        self, planned: list[tuple[int, dict[str, Any], bool]], copy: bytes | None, optimistic: bool
    ) -> None:
        """PostgreSQL: the new records COPY'd straight into the table; the existing ones (and
        all of them, should a new code have been taken meanwhile) COPY'd into a staging table,
        then written by one INSERT … SELECT … ON CONFLICT."""
        new = [entry for entry in planned if not entry[2]]
        if len(new) < len(planned):
            self._upsert([entry for entry in planned if entry[2]])
        if new:
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    self._copy_into(cursor, self.table, new, copy)
            except IntegrityError:
                if optimistic:  # the codes were not looked up
                    raise
                self._upsert(new)  # another import created one of the codes since the check

    def _copy_into(
        self,
        cursor,
        table: str,
        planned: list[tuple[int, dict[str, Any], bool]],
        data: bytes | None = None,
    ) -> None:
        if data is None:
            data = self.copy_data(planned)
        # Table and column names come from the model, never from the file; the driver's
        # errors raised as Django's (IntegrityError …), as a cursor's execute raises them.
        with (
            connection.wrap_database_errors,
            cursor.cursor.copy(f"COPY {table} ({self.columns}) FROM STDIN") as copy,
        ):
            if data is not None:
                self.notify_sent()  # sending made text takes no Python: the next batch may go
                copy.write(data)
            else:
                for record in self.params(planned).records():
                    copy.write_row(record)
                self.notify_sent()  # the server still writes what it got while we wait

    def notify_sent(self) -> None:
        sent, self.sent = self.sent, None
        if sent is not None:
            sent()

    def _upsert(self, planned: list[tuple[int, dict[str, Any], bool]]) -> None:
        stage = connection.ops.quote_name(f"imports_stage_{self.loader.model._meta.db_table}")
        # Table and column names come from the model, never from the file.
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "  # noqa: S608
                f"SELECT {self.columns} FROM {self.table} WITH NO DATA"
            )
            cursor.execute(f"TRUNCATE {stage}")
            self._copy_into(cursor, stage, planned)
            cursor.execute(
                f"INSERT INTO {self.table} ({self.columns}) "  # noqa: S608
                f"SELECT {self.columns} FROM {stage} {self.on_conflict}"
            )

    def _one_by_one(
        self, planned: list[tuple[int, dict[str, Any], bool]], params: Params
    ) -> list[RowResult]:
        """The batch statement was refused: write row by row so that only the rows at fault
        are rejected, with the database's reason."""
        results = []
        for (row, _values, exists), record in zip(planned, params.records(), strict=True):
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(self.insert, record)
            except DatabaseError as exc:
                results.append(RowResult(row, REJECT, self._refusal(exc)))
            else:
                results.append(RowResult(row, UPDATE if exists else CREATE))
        return results

    def _refusal(self, exc: DatabaseError) -> str:
        text = str(exc)
        for constraint in self.loader.model._meta.constraints:
            if re.search(rf"\b{re.escape(constraint.name)}\b", text):
                return str(constraint.violation_error_message) % {"name": constraint.name}
        return _("The database refused the row: %(error)s") % {"error": text.strip()}


def _sqlite_adapter(f: models.Field) -> Any:
    """How a value of field ``f`` is written to SQLite, when not as Python holds it."""
    if isinstance(f, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(f, models.DateField):
        return datetime.date.isoformat
    if isinstance(f, models.DecimalField):
        return str
    return None


def field_type_label(f: Field) -> str:
    """The type of a field as templates and the API describe it."""
    return "reference" if f.type == FieldType.REFERENCE else str(f.type)
