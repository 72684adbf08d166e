"""Every exporter, every kind of filter, bad filters and column selection."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from nightshift.crm.models import Contact
from nightshift.exports.actions import start_export
from nightshift.exports.base import Column, Exporter, Filter
from nightshift.exports.registry import (
    all_exporters,
    get_exporter,
    register_exporter,
    register_temporarily,
)
from nightshift.runs.models import RunState
from tests.exports.conftest import file_bytes, read_csv

pytestmark = pytest.mark.django_db

PARAM = "parameters.filters."


def rows_of(export, entity, **settings) -> list[list[str]]:
    run = export(entity, **settings)
    assert run.state == RunState.COMPLETED, run.message
    return read_csv(file_bytes(run))


def column(rows, name_label: str) -> list[str]:
    index = rows[0].index(name_label)
    return [row[index] for row in rows[1:]]


def test_the_built_in_exporters_are_registered():
    assert {e.key for e in all_exporters()} >= {
        "contacts",
        "products",
        "vouchers",
        "payment_gateway_requests",
    }


def test_contacts_export_every_column_with_related_codes(export, crm):
    rows = rows_of(export, "contacts")
    assert rows[0][:3] == ["Code", "Kind", "First name"]
    assert len(rows[0]) == len(get_exporter("contacts").columns)
    alice = dict(zip(rows[0], rows[1], strict=True))
    assert alice["Code"] == "ALICE"
    assert alice["City"] == "São Paulo"
    assert alice["Birth date"] == "1980-05-17"
    assert alice["Classification"] == "VIP"
    assert alice["Customer class"] == "GOLD"
    assert alice["Accumulated purchase amount"] == "1500.50"
    assert alice["Status"] == "active"
    assert alice["First purchase date"] == ""


def test_products_export_booleans_and_family_codes(export, crm):
    rows = rows_of(export, "products")
    by_code = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert by_code["P-100"]["Family"] == "NET"
    assert by_code["P-100"]["Unit price"] == "39.90"
    assert by_code["P-SVC"]["Service"] == "true"
    assert by_code["P-OLD"]["Active"] == "false"


def test_vouchers_export_dates_and_datetimes_in_utc(export, crm):
    rows = rows_of(export, "vouchers")
    v2 = dict(zip(rows[0], rows[2], strict=True))
    assert v2["Code"] == "V2"
    assert v2["Valid to"] == "2025-06-30"
    assert v2["Redeemed at"].endswith("Z")
    assert column(rows, "Contact") == ["ALICE", ""]


def test_payment_gateway_requests_export_with_contact_and_invoice(export, crm):
    rows = rows_of(export, "payment_gateway_requests")
    assert column(rows, "Reference") == ["PG-1", "PG-2"]
    assert column(rows, "Invoice") == ["INV-1", ""]
    assert column(rows, "Amount") == ["99.90", "5.00"]


def test_a_choice_filter_takes_one_or_several_values(export, crm):
    assert column(rows_of(export, "contacts", filters={"status": "active"}), "Code") == ["ALICE"]
    both = rows_of(export, "contacts", filters={"status": ["active", "inactive"]})
    assert column(both, "Code") == ["ALICE", "BOB"]


def test_a_date_filter_takes_a_day_or_a_range_open_at_either_end(export, crm):
    assert column(rows_of(export, "contacts", filters={"birth_date": "1980-05-17"}), "Code") == [
        "ALICE"
    ]
    after = rows_of(export, "contacts", filters={"birth_date": "1985-01-01.."})
    assert column(after, "Code") == ["BOB"]
    before = rows_of(export, "contacts", filters={"birth_date": {"to": "1985-01-01"}})
    assert column(before, "Code") == ["ALICE"]


def test_a_datetime_filter_takes_whole_days(export, crm):
    rows = rows_of(
        export, "payment_gateway_requests", filters={"requested_at": "2026-04-01..2026-04-01"}
    )
    assert column(rows, "Reference") == ["PG-2"]


def test_a_number_range_filter(export, crm):
    rows = rows_of(export, "contacts", filters={"accumulated_purchase_amount": "100..2000"})
    assert column(rows, "Code") == ["ALICE"]
    rows = rows_of(export, "vouchers", filters={"value": "..10"})
    assert column(rows, "Code") == ["V1"]


def test_a_text_filter_matches_contained_text_case_insensitively(export, crm):
    assert column(rows_of(export, "contacts", filters={"city": "lisb"}), "Code") == ["BOB"]
    assert column(rows_of(export, "products", filters={"code": "p-1"}), "Code") == ["P-100"]


def test_a_boolean_filter(export, crm):
    rows = rows_of(export, "products", filters={"is_active": "false"})
    assert column(rows, "Code") == ["P-OLD"]


def test_filters_combine(export, crm):
    rows = rows_of(
        export, "vouchers", filters={"state": "active,redeemed", "valid_from": "2026-01-01.."}
    )
    assert column(rows, "Code") == ["V1"]


@pytest.mark.parametrize(
    ("filters", "field", "words"),
    [
        ({"colour": "red"}, "parameters.filters.colour", ["status", "birth_date", "city"]),
        ({"status": "sleeping"}, "parameters.filters.status", ["active", "not_integrated"]),
        ({"birth_date": "17/05/1980"}, "parameters.filters.birth_date", ["YYYY-MM-DD"]),
        ({"birth_date": "2026-01-02..2026-01-01"}, "parameters.filters.birth_date", ["after"]),
        ({"days_since_last_purchase": "x"}, f"{PARAM}days_since_last_purchase", ["number"]),
        ({"city": ""}, "parameters.filters.city", ["text"]),
    ],
)  # fmt: skip
def test_a_bad_filter_names_the_field_and_what_is_allowed(operator, filters, field, words):
    with pytest.raises(ValidationError) as excinfo:
        start_export(user=operator, entity="contacts", filters=filters)
    message = excinfo.value.message_dict[field][0]
    for word in words:
        assert word in message


def test_a_bad_boolean_and_an_unknown_entity_are_refused(operator):
    with pytest.raises(ValidationError) as excinfo:
        start_export(user=operator, entity="products", filters={"is_active": "maybe"})
    assert "true or false" in excinfo.value.message_dict["parameters.filters.is_active"][0]
    with pytest.raises(ValidationError) as excinfo:
        start_export(user=operator, entity="planets")
    assert "contacts" in excinfo.value.message_dict["parameters.entity"][0]


def test_chosen_columns_are_written_in_the_order_given(export, crm):
    rows = rows_of(export, "contacts", columns=["email", "code"])
    assert rows == [["E-mail", "Code"], ["alice@example.com", "ALICE"], ["", "BOB"]]


def test_an_unknown_column_is_refused_listing_the_known_ones(operator):
    with pytest.raises(ValidationError) as excinfo:
        start_export(user=operator, entity="contacts", columns=["code", "shoe_size"])
    message = excinfo.value.message_dict["parameters.columns"][0]
    assert "shoe_size" in message
    assert "first_name" in message


def test_another_app_registers_an_exporter(export, contacts):
    from django.db.models import Value
    from django.db.models.functions import Concat, Upper

    class ShoutingContacts(Exporter):
        key = "tests.shouting_contacts"
        name = "Shouting contacts"
        model = Contact
        columns = (
            Column("code"),
            Column(
                "shout", source=Upper(Concat("first_name", Value("!"))), kind="text", label="Shout"
            ),
        )
        filters = (Filter("code", lookup="iexact"),)

    contacts(2)
    with register_temporarily(ShoutingContacts):
        rows = rows_of(export, ShoutingContacts.key, filters={"code": "c000001"})
    assert rows == [["Code", "Shout"], ["C000001", "NAME1!"]]


def test_a_second_exporter_with_a_taken_key_fails_at_import_time():
    from django.core.exceptions import ImproperlyConfigured

    class Impostor(Exporter):
        key = "contacts"
        name = "Impostor"
        model = Contact

    with pytest.raises(ImproperlyConfigured, match="already registered"):
        register_exporter(Impostor)
