"""Mapping suggestions from header names, and the mapping checks made before an import."""

from __future__ import annotations

import pytest

from nightshift.imports.mapping import (
    MappingProblem,
    column_names,
    resolve_mapping,
    suggest_mapping,
)
from nightshift.imports.registry import get_importer

GOOGLE = [
    "First Name",
    "Middle Name",
    "Last Name",
    "Phonetic First Name",
    "Nickname",
    "File As",
    "Organization Name",
    "Organization Title",
    "Birthday",
    "Notes",
    "Labels",
    "E-mail 1 - Label",
    "E-mail 1 - Value",
    "Phone 1 - Label",
    "Phone 1 - Value",
    "Address 1 - Label",
    "Address 1 - Formatted",
    "Address 1 - Street",
    "Address 1 - City",
    "Address 1 - PO Box",
    "Address 1 - Region",
    "Address 1 - Postal Code",
    "Address 1 - Country",
]
GOOGLE_LEGACY = [
    "Name",
    "Given Name",
    "Additional Name",
    "Family Name",
    "Birthday",
    "Group Membership",
    "E-mail 1 - Type",
    "E-mail 1 - Value",
    "Phone 1 - Type",
    "Phone 1 - Value",
    "Organization 1 - Name",
]
OUTLOOK = [
    "First Name",
    "Middle Name",
    "Last Name",
    "Title",
    "Suffix",
    "E-mail Address",
    "E-mail 2 Address",
    "Home Phone",
    "Business Phone",
    "Mobile Phone",
    "Company",
    "Home Street",
    "Home City",
    "Home State",
    "Home Postal Code",
    "Home Country/Region",
    "Birthday",
    "Categories",
]


def test_google_contacts_export_maps_onto_contacts():
    assert suggest_mapping(get_importer("contacts"), GOOGLE) == {
        "first_name": "First Name",
        "last_name": "Last Name",
        "company_name": "Organization Name",
        "email": "E-mail 1 - Value",
        "phone": "Phone 1 - Value",
        "birth_date": "Birthday",
        "address": "Address 1 - Street",
        "city": "Address 1 - City",
        "state_province": "Address 1 - Region",
        "zip_code": "Address 1 - Postal Code",
        "country": "Address 1 - Country",
    }


def test_legacy_google_contacts_export_maps_onto_contacts():
    assert suggest_mapping(get_importer("contacts"), GOOGLE_LEGACY) == {
        "first_name": "Given Name",
        "last_name": "Family Name",
        "company_name": "Organization 1 - Name",
        "email": "E-mail 1 - Value",
        "phone": "Phone 1 - Value",
        "birth_date": "Birthday",
    }


def test_outlook_export_maps_onto_contacts():
    assert suggest_mapping(get_importer("contacts"), OUTLOOK) == {
        "first_name": "First Name",
        "last_name": "Last Name",
        "company_name": "Company",
        "email": "E-mail Address",
        "phone": "Mobile Phone",
        "birth_date": "Birthday",
        "address": "Home Street",
        "city": "Home City",
        "state_province": "Home State",
        "zip_code": "Home Postal Code",
        "country": "Home Country/Region",
        "classification": "Categories",
    }


def test_the_exact_field_name_wins_over_a_synonym():
    mapping = suggest_mapping(get_importer("contacts"), ["Email Address", "email"])
    assert mapping == {"email": "email"}


def test_headers_match_without_case_accents_or_punctuation():
    mapping = suggest_mapping(
        get_importer("contacts"), ["CÓDIGO", "data de nascimento", "E_MAIL", "Código Postal"]
    )
    assert mapping == {
        "code": "CÓDIGO",
        "email": "E_MAIL",
        "birth_date": "data de nascimento",
        "zip_code": "Código Postal",
    }


def test_portuguese_labels_and_synonyms_suggest_fields():
    mapping = suggest_mapping(
        get_importer("products"), ["Código do produto", "Nome", "Família", "Preço unitário"]
    )
    assert mapping == {
        "code": "Código do produto",
        "name": "Nome",
        "family": "Família",
        "unit_price": "Preço unitário",
    }


def test_a_column_is_used_for_one_field_only():
    mapping = suggest_mapping(get_importer("leads"), ["Status"])
    assert list(mapping.values()) == ["Status"]


def test_columns_without_a_header_are_numbered_and_repeats_are_told_apart():
    assert column_names(["a", "b"], header=False) == ["Column 1", "Column 2"]
    assert column_names(["Phone", "Phone", ""], header=True) == ["Phone", "Phone (2)", "Column 3"]


def test_a_required_field_left_unmapped_lists_the_columns_it_could_use():
    importer = get_importer("products")
    with pytest.raises(MappingProblem) as problem:
        resolve_mapping(importer, {"code": "Ref"}, ["Ref", "Title", "Price"], fixed={})
    assert str(problem.value) == (
        "Required field “Name” (name) is not mapped; columns it could use: “Title”, “Price”."
    )


def test_an_input_setting_stands_in_for_a_required_column():
    importer = get_importer("reward_scheme_codes")
    resolved = resolve_mapping(importer, {"code": "Code"}, ["Code"], fixed={"scheme": "CLUB"})
    assert resolved == {"code": 0}


def test_a_mapped_column_missing_from_the_file_is_named():
    importer = get_importer("products")
    with pytest.raises(MappingProblem, match="mapped to column “Nome”, which the file does not"):
        resolve_mapping(importer, {"code": "Ref", "name": "Nome"}, ["Ref", "Name"], fixed={})


def test_contacts_without_a_code_column_are_allowed_codes_are_generated():
    importer = get_importer("contacts")
    assert resolve_mapping(importer, {"email": "Mail"}, ["Mail"], fixed={}) == {"email": 0}
