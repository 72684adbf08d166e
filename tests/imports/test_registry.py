"""The importer registry: any app registers one more importer; keys are unique."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from nightshift.crm.models import Warehouse
from nightshift.imports.registry import (
    Field,
    Importer,
    get_importer,
    register_importer,
    register_temporarily,
)
from nightshift.runs.models import RunState
from tests.imports.files import csv_bytes


class WarehouseImporter(Importer):
    """A customer's own import (the manuals' Pentaho case), registered from outside."""

    key = "test_warehouses"
    name = _("Warehouses")
    model = Warehouse
    match = ("code",)
    fields = (
        Field("code", _("Code"), required=True),
        Field("name", _("Name"), required=True, synonyms=("armazem",)),
        Field("address", _("Address")),
    )


def test_a_registered_importer_imports_through_the_shared_machinery(run_import):
    with register_temporarily(WarehouseImporter):
        run = run_import(
            csv_bytes([["code", "Armazém", "Address"], ["W1", "Main", "Rua A"], ["W1", "Dup", ""]]),
            "test_warehouses",
        )
    assert run.state == RunState.COMPLETED_WITH_ERRORS
    assert Warehouse.objects.get().name == "Main"
    with pytest.raises(LookupError):
        get_importer("test_warehouses")


def test_a_second_importer_under_a_taken_key_fails_at_import_time():
    class Impostor(WarehouseImporter):
        key = "contacts"

    with pytest.raises(ImproperlyConfigured, match="already registered"):
        register_importer(Impostor)


def test_match_must_name_declared_fields():
    class Broken(WarehouseImporter):
        key = "broken"
        match = ("nope",)

    with pytest.raises(ImproperlyConfigured, match="match names fields it does not declare"):
        register_importer(Broken)


def test_an_unknown_entity_names_the_known_ones():
    with pytest.raises(LookupError, match="Known: contacts, devices, leads"):
        get_importer("nope")
