"""Which column of a file goes into which field: suggestions from the header names, and the
checks a mapping must pass before an import starts.

A mapping is ``{field name: column name}``. Column names are the file's header cells (a
repeated header gets `` (2)``, `` (3)`` …) or, for a file without a header row, ``Column 1``,
``Column 2`` … A suggestion matches a header to a field by, in order of preference: the
field's name exactly, then — ignoring case, accents and punctuation — the name, the label in
English, the label in Brazilian Portuguese and the field's synonyms (those of the Google
Contacts and Outlook exports among them). Each column and each field is used at most once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from nightshift.imports.conversion import normalise, to_text
from nightshift.imports.registry import Importer

__all__ = ["MappingProblem", "column_names", "resolve_mapping", "suggest_mapping"]


class MappingProblem(Exception):
    """A mapping that cannot be used; the message names the fields and the columns.
    ``problems`` holds the same messages by field name, for forms to show each one next to
    the field it names."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__(" ".join(self.problems.values()))


def column_names(first_row: Sequence[Any], *, header: bool) -> list[str]:
    """The names the columns are mapped by: the header's cells (unique, never blank) or
    ``Column N`` for a file without a header row."""
    if not header:
        return [_column(index) for index in range(len(first_row))]
    names: list[str] = []
    seen: dict[str, int] = {}
    for index, cell in enumerate(first_row):
        name = to_text(cell).strip() or _column(index)
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        names.append(name)
    return names


def _column(index: int) -> str:
    return f"Column {index + 1}"


def _candidates(importer: Importer) -> dict[str, list[str]]:
    """Per field, the normalised names that suggest it, best first."""
    found: dict[str, list[str]] = {}
    for field in importer.bound_fields.values():
        names = [field.name, field.name.replace("_", " ")]
        with translation.override("en"):
            names.append(str(field.label))
        with translation.override("pt-br"):
            names.append(str(field.label))
        names.extend(field.synonyms)
        unique: list[str] = []
        for name in map(normalise, names):
            if name and name not in unique:
                unique.append(name)
        found[field.name] = unique
    return found


def suggest_mapping(importer: Importer, columns: Sequence[str]) -> dict[str, str]:
    """The mapping suggested for ``columns``, in the importer's field order."""
    candidates = _candidates(importer)
    pairs: list[tuple[int, int, str, str]] = []
    normalised = [normalise(column) for column in columns]
    for field_name, names in candidates.items():
        for index, column in enumerate(columns):
            if column == field_name:
                pairs.append((0, index, field_name, column))
                continue
            if normalised[index] in names:
                rank = 1 + names.index(normalised[index])
                pairs.append((rank, index, field_name, column))
    pairs.sort()
    chosen: dict[str, str] = {}
    used: set[str] = set()
    for _rank, _index, field_name, column in pairs:
        if field_name in chosen or column in used:
            continue
        chosen[field_name] = column
        used.add(column)
    order = list(importer.bound_fields)
    return {name: chosen[name] for name in order if name in chosen}


def check_mapping(importer: Importer, mapping: Mapping[str, str]) -> dict[str, str]:
    """Problems with the fields a mapping names (``{field: message}``), whatever the file."""
    errors: dict[str, str] = {}
    for field_name, column in mapping.items():
        if field_name not in importer.bound_fields:
            errors[field_name] = _(
                "%(entity)s have no field “%(field)s”; the fields are: %(fields)s."
            ) % {
                "entity": importer.name,
                "field": field_name,
                "fields": ", ".join(importer.bound_fields),
            }
        elif not isinstance(column, str) or not column.strip():
            errors[field_name] = _("Name the column to read this field from.")
    return errors


def resolve_mapping(
    importer: Importer,
    mapping: Mapping[str, str],
    columns: Sequence[str],
    *,
    fixed: Mapping[str, Any],
) -> dict[str, int]:
    """``{field: column index}`` for an import of a file with ``columns``.

    Raises ``MappingProblem`` when a mapped column is not in the file, or when a required
    field is neither mapped nor fixed by the input settings — listing the columns it could
    use (those not mapped to another field).
    """
    index = {name: position for position, name in enumerate(columns)}
    problems: dict[str, str] = {}
    resolved: dict[str, int] = {}
    for field_name, column in mapping.items():
        if field_name in fixed:
            continue  # an input setting overrides the file
        if column not in index:
            problems[field_name] = _(
                "Field “%(field)s” is mapped to column “%(column)s”, which the file does not have."
            ) % {"field": field_name, "column": column}
            continue
        resolved[field_name] = index[column]
    mapped_columns = {columns[position] for position in resolved.values()}
    free = [column for column in columns if column not in mapped_columns]
    for field in importer.required_fields():
        if field.name not in resolved and field.name not in fixed:
            unmapped = _(
                "Required field “%(label)s” (%(field)s) is not mapped; columns it could use: "
                "%(columns)s."
            ) % {
                "label": field.label,
                "field": field.name,
                "columns": ", ".join(f"“{c}”" for c in free) or _("none left"),
            }
            # A field mapped to a column the file lacks is also unmapped: both are said.
            problems[field.name] = " ".join(filter(None, [problems.get(field.name), unmapped]))
    if problems:
        raise MappingProblem(problems)
    return resolved
