"""Importers: what an import can load, one class per entity, registered by a stable key.

An importer names the model it writes, the fields a file's columns can be mapped onto (with
their type, whether they are required, allowed values, reference lookups and synonyms for
mapping suggestions), and the fields that identify an existing record (its code). Everything
else — reading files, mapping, validation, the set-based upsert, error files, runs — is shared
and driven from these declarations.

Importers register with ``@register_importer`` at import time; ``autodiscover`` (called from
``ImportsConfig.ready``) imports the ``importers`` module of every installed app, so an app or
an installed package adds an entity (a customer's custom import) by shipping one::

    # myapp/importers.py
    from nightshift.imports.registry import Field, Importer, register_importer

    @register_importer
    class ShopImporter(Importer):
        key = "shops"
        name = _("Shops")
        model = Shop
        match = ("code",)
        fields = (Field("code", _("Code"), required=True), Field("name", _("Name")))
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import models

if TYPE_CHECKING:
    from django.utils.functional import Promise

__all__ = [
    "Field",
    "FieldType",
    "Importer",
    "Reference",
    "all_importers",
    "autodiscover",
    "get_importer",
    "register_importer",
    "register_temporarily",
]


class FieldType(StrEnum):
    TEXT = "text"  # free text, trimmed, at most the model field's length
    EMAIL = "email"  # an e-mail address, stored in lower case
    PHONE = "phone"  # text that keeps its leading zeros and "+"
    DATE = "date"  # ISO, day/month/year or a spreadsheet date (cell or serial number)
    DATETIME = "datetime"  # a date with a time, in the server's time zone unless given
    DECIMAL = "decimal"  # a number with "." or "," as decimal separator
    INTEGER = "integer"  # a whole number
    BOOLEAN = "boolean"  # yes/no, true/false, 1/0, sim/não
    CHOICE = "choice"  # one of the allowed values (or its label)
    COUNTRY = "country"  # an ISO 3166 two-letter code or a country's name
    REFERENCE = "reference"  # another record, found by its code or name


@dataclass(frozen=True)
class Reference:
    """Another record a field points to, found by ``lookup`` (its code or name). A
    ``creatable`` one (classification, warehouse, product family) is created from the file's
    value when "create missing attributes" is on: ``create`` gives the new record's fields."""

    model: str  # "app_label.ModelName"
    lookup: str = "code"
    creatable: bool = False
    create: Callable[[str], dict[str, Any]] | None = None

    def model_class(self) -> type[models.Model]:
        return apps.get_model(self.model)

    def new_record(self, value: str) -> dict[str, Any]:
        if self.create is not None:
            return self.create(value)
        return {self.lookup: value}


@dataclass(frozen=True)
class Field:
    """One field of an entity a file's column can be mapped onto (or an input setting can fix).

    ``name`` is the model field it writes (a foreign key by its field name, not ``_id``).
    ``synonyms`` are header names in English and Portuguese, and those of common exports
    (Google Contacts, Outlook), that suggest this field; the name and label always do.
    """

    name: str
    label: str | Promise
    type: FieldType = FieldType.TEXT
    required: bool = False
    synonyms: tuple[str, ...] = ()
    choices: type[models.TextChoices] | None = None
    reference: Reference | None = None
    help: str | Promise = ""
    sample: str = ""
    # Filled from the model when the importer is bound (see ``Importer.bound_fields``).
    max_length: int | None = None
    max_digits: int | None = None
    decimal_places: int | None = None
    column: str = field(default="", compare=False)

    def allowed_values(self) -> list[str]:
        return list(self.choices.values) if self.choices else []


class Importer:
    """Base class of every importer; subclass it and decorate with ``@register_importer``.

    Subclasses set ``key`` (a stable slug stored in run definitions: never rename it),
    ``name``, ``description``, ``model``, ``match`` (the fields that identify an existing
    record: the entity's code) and ``fields``. They may override ``check_row`` for rules that
    involve several fields, and ``new_record_defaults`` for values a created record gets when
    the file does not give them.
    """

    key: ClassVar[str]
    name: ClassVar[str | Promise]
    description: ClassVar[str | Promise] = ""
    model: ClassVar[type[models.Model]]
    match: ClassVar[tuple[str, ...]]
    fields: ClassVar[tuple[Field, ...]]
    # A match field left out of the file (or blank on a row) gets a generated code, so that
    # files without codes (Google Contacts, Outlook exports) still create records.
    generates_code: ClassVar[bool] = False

    @cached_property
    def bound_fields(self) -> dict[str, Field]:
        """The fields by name, with lengths and number formats taken from the model."""
        bound: dict[str, Field] = {}
        for declared in self.fields:
            model_field = self.model._meta.get_field(declared.name)
            extra: dict[str, Any] = {"column": model_field.column}
            if isinstance(model_field, models.CharField) and declared.max_length is None:
                extra["max_length"] = model_field.max_length
            if isinstance(model_field, models.DecimalField):
                extra["max_digits"] = model_field.max_digits
                extra["decimal_places"] = model_field.decimal_places
            bound[declared.name] = replace(declared, **extra)
        return bound

    def field(self, name: str) -> Field:
        return self.bound_fields[name]

    def required_fields(self) -> list[Field]:
        return [
            f
            for f in self.bound_fields.values()
            if f.required and not (self.generates_code and f.name in self.match)
        ]

    def check_row(self, values: Mapping[str, Any], *, creating: bool) -> dict[str, str]:
        """Rules across fields of one row, as ``{field: message}``; ``values`` holds the fields
        the row gives (mapped or fixed). The default accepts every row."""
        return {}

    def new_record_defaults(self) -> dict[str, Any]:
        """Values a created record gets for fields the file does not give (beyond the model's
        own defaults)."""
        return {}

    def sample_row(self) -> dict[str, str]:
        return {f.name: f.sample for f in self.bound_fields.values()}


_registry: dict[str, type[Importer]] = {}


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register_importer[I: type[Importer]](cls: I) -> I:
    """Class decorator: make ``cls`` available under ``cls.key``. A second class claiming the
    same key fails at import time (stored definitions name importers by key); the same class
    seen again (its module re-imported) is ignored."""
    if not (isinstance(cls, type) and issubclass(cls, Importer)):
        raise ImproperlyConfigured(f"{cls!r} is not an Importer subclass and cannot be registered.")
    key = getattr(cls, "key", "")
    if not key:
        raise ImproperlyConfigured(f"{cls.__qualname__} has no key; set a stable slug.")
    unknown = [name for name in cls.match if name not in {f.name for f in cls.fields}]
    if unknown:
        raise ImproperlyConfigured(
            f"{cls.__qualname__}.match names fields it does not declare: {', '.join(unknown)}."
        )
    existing = _registry.get(key)
    if existing is not None and _qualified(existing) != _qualified(cls):
        raise ImproperlyConfigured(
            f"Importer key {key!r} is already registered by {_qualified(existing)}; "
            f"{_qualified(cls)} cannot use it too."
        )
    _registry[key] = cls
    return cls


def get_importer(key: str) -> Importer:
    """An instance of the importer registered under ``key``; ``LookupError`` naming the known
    keys otherwise."""
    try:
        return _registry[key]()
    except KeyError:
        known = ", ".join(sorted(_registry)) or "none"
        raise LookupError(f"No importer is registered under “{key}”. Known: {known}.") from None


def all_importers() -> list[Importer]:
    """Every registered importer, sorted by key."""
    return [_registry[key]() for key in sorted(_registry)]


@contextmanager
def register_temporarily[I: type[Importer]](cls: I) -> Iterator[I]:
    """Register ``cls`` for the duration of the block (for tests), then restore the registry."""
    previous = _registry.pop(cls.key, None)
    try:
        yield register_importer(cls)
    finally:
        _registry.pop(cls.key, None)
        if previous is not None:
            _registry[cls.key] = previous


def autodiscover() -> None:
    """Import the ``importers`` module of every installed app (this app's holds the built-in
    ones), so that their ``@register_importer`` decorators run. Idempotent."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("importers")
