"""The file import process end to end: files uploaded, runs executed as a worker does, records
written, rejected rows reported with their reason and collected in the error file."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from nightshift.crm.choices import ContactKind, DeviceState
from nightshift.crm.models import (
    Contact,
    ContactClassification,
    Device,
    Lead,
    PaymentGatewayRequest,
    Product,
    ProductFamily,
    RewardParticipant,
    RewardScheme,
    RewardSchemeCode,
    Voucher,
    Warehouse,
)
from nightshift.imports import actions, jobs
from nightshift.imports.loading import Options
from nightshift.imports.models import DataImport
from nightshift.imports.registry import get_importer
from nightshift.runs import engine
from nightshift.runs.models import RunItem, RunState
from tests.imports.conftest import execute
from tests.imports.files import FIXTURES, csv_bytes, ods_bytes, read_sheet, xlsx_bytes

HEADER = ["Code", "First name", "Last name", "E-mail", "Birth date", "Zip code"]


def errors(run) -> dict[int, str]:
    return dict(RunItem.objects.filter(run=run, ok=False).values_list("record_id", "message"))


def figures(run) -> dict:
    summary = run.summary()
    return {key: summary[key] for key in ("rows", "created", "updated", "rejected")}


def test_rows_are_created_and_bad_rows_rejected_naming_the_column(run_import):
    content = csv_bytes(
        [
            HEADER,
            ["C1", "Ana", "Silva", "ana@example.com", "1980-02-03", "01310-100"],
            ["C2", "Bia", "Lima", "not-an-email", "1980-02-03", ""],
            ["C3", "Caio", "Reis", "caio@example.com", "31/02/1990", ""],
            ["C4", "Duda", "Melo", "duda@example.com", "25/12/1990", "00501"],
        ]
    )
    run = run_import(content, batch_size=2)
    assert run.state == RunState.COMPLETED_WITH_ERRORS
    assert figures(run) == {"rows": 4, "created": 2, "updated": 0, "rejected": 2}
    assert errors(run) == {
        3: "Column “E-mail” (email): “not-an-email” is not a valid e-mail address.",
        4: "Column “Birth date” (birth_date): “31/02/1990” is not a date (write YYYY-MM-DD or "
        "DD/MM/YYYY).",
    }
    ana = Contact.objects.get(code="C1")
    assert (ana.email, ana.birth_date, ana.zip_code) == (
        "ana@example.com",
        datetime.date(1980, 2, 3),
        "01310-100",
    )
    assert Contact.objects.get(code="C4").birth_date == datetime.date(1990, 12, 25)
    assert ana.created_by.username == "olivia"


def test_a_clean_file_completes_with_every_row_created(run_import):
    run = run_import(csv_bytes([HEADER, ["C1", "Ana", "", "", "", ""]]))
    assert run.state == RunState.COMPLETED
    assert run.summary()["error_file"] is None


def test_duplicate_codes_keep_the_earlier_row_and_report_the_later(run_import):
    content = csv_bytes(
        [
            HEADER,
            ["C1", "First", "", "", "", ""],
            ["C2", "B", "", "", "", ""],
            ["C1", "Second", "", "", "", ""],
        ]
    )
    run = run_import(content, batch_size=2)
    assert Contact.objects.get(code="C1").first_name == "First"
    assert errors(run) == {
        4: "Column “Code” (code): “C1” repeats the code of an earlier row of the file; the "
        "earlier row is kept."
    }


def test_update_existing_off_leaves_existing_records_and_reports_the_rows(run_import):
    Contact.objects.create(code="C1", first_name="Old")
    run = run_import(csv_bytes([HEADER, ["C1", "New", "", "", "", ""]]))
    assert Contact.objects.get(code="C1").first_name == "Old"
    assert errors(run) == {
        2: "Column “Code” (code): “C1” already exists and “update existing records” is off; it "
        "was left unchanged."
    }
    assert figures(run) == {"rows": 1, "created": 0, "updated": 0, "rejected": 1}


def test_update_existing_on_changes_only_the_mapped_fields(run_import):
    Contact.objects.create(code="C1", first_name="Old", city="Recife", email="old@example.com")
    content = csv_bytes([["Code", "First name"], ["C1", "New"], ["C2", "Added"]])
    run = run_import(content, update_existing=True)
    contact = Contact.objects.get(code="C1")
    assert (contact.first_name, contact.city, contact.email) == ("New", "Recife", "old@example.com")
    assert figures(run) == {"rows": 2, "created": 1, "updated": 1, "rejected": 0}


def test_create_missing_off_rejects_rows_naming_the_missing_attribute(run_import):
    run = run_import(csv_bytes([["Code", "First name", "Classification"], ["C1", "A", "VIP"]]))
    assert errors(run) == {
        2: "Column “Classification” (classification): there is no contact classification “VIP”. "
        "Turn on “create missing attributes” to create it."
    }
    assert not ContactClassification.objects.exists()


def test_create_missing_on_creates_the_attribute_once(run_import):
    content = csv_bytes(
        [["Code", "First name", "Classification"], ["C1", "A", "VIP"], ["C2", "B", "VIP"]]
    )
    run_import(content, create_missing=True, batch_size=1)
    assert list(ContactClassification.objects.values_list("name", flat=True)) == ["VIP"]
    assert set(Contact.objects.values_list("classification__name", flat=True)) == {"VIP"}


def test_a_reference_that_cannot_be_created_is_rejected_even_with_create_missing(run_import):
    content = csv_bytes([["Serial", "Product", "Warehouse"], ["SN1", "NOPE", "WH1"]])
    run = run_import(content, "devices", create_missing=True)
    assert errors(run) == {2: "Column “Product” (product): there is no product “NOPE”."}


def test_input_settings_override_the_file(run_import):
    Product.objects.create(code="BOX", name="Set-top box", is_traceable=True)
    Warehouse.objects.create(code="MAIN", name="Main")
    content = csv_bytes([["Serial", "Product", "Warehouse"], ["SN1", "BOX", "ELSEWHERE"]])
    run = run_import(content, "devices", settings={"warehouse": "MAIN"})
    assert run.state == RunState.COMPLETED
    device = Device.objects.get()
    assert (device.warehouse.code, device.state) == ("MAIN", DeviceState.IN_STOCK)


def test_input_settings_of_the_wrong_type_are_refused_before_anything_starts(operator, upload):
    uploaded = upload(csv_bytes([["Code", "Value"], ["V1", "1"]]))
    with pytest.raises(ValidationError) as refused:
        actions.start_import(
            user=operator,
            entity="vouchers",
            upload_id=uploaded.pk,
            settings={"valid_from": "someday"},
        )
    assert refused.value.message_dict == {
        "settings.valid_from": [
            "valid_from: “someday” is not a date (write YYYY-MM-DD or DD/MM/YYYY)."
        ]
    }


CONTACT_MESSAGES = [
    (
        ["K1", "company", "", "", "", "", "", ""],
        "Field “Company name” (company_name): A company contact needs a company name.",
    ),
    (
        ["K2", "", "", "", "", "", "", ""],
        "Column “First name” (first_name): A person needs a first or a last name.",
    ),
    (
        ["K3", "alien", "A", "", "", "", "", ""],
        "Column “Kind” (kind): “alien” is not one of the allowed values: person, company.",
    ),
    (
        ["K4", "", "A", "Atlantis", "", "", "", ""],
        "Column “Country” (country): “Atlantis” is not a country (write its two-letter code, "
        "e.g. BR).",
    ),
    (
        ["K5", "", "A", "", "x" * 81, "", "", ""],
        "Column “Last name” (last_name): is 81 characters long; at most 80 are allowed.",
    ),
    (["", "", "A", "", "", "", "", ""], None),  # a blank code is generated, not an error
    (
        ["K7", "", "A", "", "", "gone", "", ""],
        "Column “Status” (status): “gone” is not one of the allowed values: active, inactive, "
        "not_integrated, rejected.",
    ),
    (
        ["K8", "", "A", "", "", "", "GOLD", ""],
        "Column “Class” (customer_class): there is no customer class “GOLD”.",
    ),
    (
        ["K9", "", "A", "", "", "", "", "1980-01-32"],
        "Column “Birthday” (birth_date): “1980-01-32” is not a date (write YYYY-MM-DD or "
        "DD/MM/YYYY).",
    ),
]


def test_every_contact_validation_message(run_import):
    header = ["Code", "Kind", "First name", "Country", "Last name", "Status", "Class", "Birthday"]
    run = run_import(csv_bytes([header, *[row for row, _m in CONTACT_MESSAGES]]))
    expected = {n: m for n, (_row, m) in enumerate(CONTACT_MESSAGES, start=2) if m}
    assert errors(run) == expected
    assert Contact.objects.get(first_name="A", code__startswith="I").kind == ContactKind.PERSON


def test_portuguese_labels_and_country_names_are_understood(run_import):
    content = csv_bytes(
        [
            ["Código", "Nome", "Tipo", "País", "Situação"],
            ["K1", "Ana", "Pessoa física", "Brasil", "Não integrado ao ERP"],
        ]
    )
    run = run_import(content)
    assert errors(run) == {}
    contact = Contact.objects.get()
    assert (contact.kind, contact.country, contact.status) == ("person", "BR", "not_integrated")


def test_every_voucher_validation_message(run_import):
    header = ["Code", "Value", "Currency", "State", "Valid from", "Valid to", "Redeemed at"]
    rows = [
        (
            ["V1", "abc", "EUR", "", "2026-01-01", "2026-12-31", ""],
            "Column “Value” (value): “abc” is not a number.",
        ),
        (
            ["V2", "0", "EUR", "", "2026-01-01", "2026-12-31", ""],
            "Column “Value” (value): The voucher value must be positive.",
        ),
        (
            ["V3", "1,234", "EUR", "", "2026-01-01", "2026-12-31", ""],
            "Column “Value” (value): 1.234 has more than 2 decimal places.",
        ),
        (
            ["V4", "10", "EUR", "", "2026-02-01", "2026-01-01", ""],
            "Column “Valid to” (valid_to): A voucher cannot expire before it becomes valid.",
        ),
        (
            ["V5", "10", "EUR", "redeemed", "2026-01-01", "2026-12-31", ""],
            "Column “Redeemed at” (redeemed_at): A redeemed voucher needs its redemption date.",
        ),
        (
            ["V6", "10", "EURO", "", "2026-01-01", "2026-12-31", ""],
            "Column “Currency” (currency): is 4 characters long; at most 3 are allowed.",
        ),
        (
            ["V7", "10", "EUR", "", "", "2026-12-31", ""],
            "Column “Valid from” (valid_from): a value is required.",
        ),
        (
            ["V8", "10", "EUR", "redeemed", "2026-01-01", "2026-12-31", "2026-13-01 10:00"],
            "Column “Redeemed at” (redeemed_at): “2026-13-01 10:00” is not a date and time (write "
            "YYYY-MM-DD HH:MM).",
        ),
        (
            ["V9", "1.234,50", "EUR", "redeemed", "01/01/2026", "31/12/2026", "2026-03-01 10:00"],
            None,
        ),
        (
            ["V10", "123456789012", "EUR", "", "2026-01-01", "2026-12-31", ""],
            "Column “Value” (value): 123456789012 is too large.",
        ),
    ]
    run = run_import(csv_bytes([header, *[r for r, _m in rows]]), "vouchers")
    assert errors(run) == {n: m for n, (_r, m) in enumerate(rows, start=2) if m}
    voucher = Voucher.objects.get(code="V9")
    assert voucher.value == Decimal("1234.50")
    assert voucher.redeemed_at.hour == 10


def test_every_product_and_device_validation_message(run_import):
    run = run_import(
        csv_bytes(
            [
                ["Code", "Name", "Price", "Service"],
                ["P1", "A", "-1", "no"],
                ["P2", "B", "5", "maybe"],
                ["P3", "C", "5", "sim"],
            ]
        ),
        "products",
    )
    assert errors(run) == {
        2: "Column “Price” (unit_price): The unit price cannot be negative.",
        3: "Column “Service” (is_service): “maybe” is not yes or no (write yes/no, true/false or "
        "1/0).",
    }
    assert Product.objects.get(code="P3").is_service is True
    run = run_import(
        csv_bytes(
            [
                ["Serial", "Product", "State", "Warehouse"],
                ["S1", "P3", "installed", ""],
                ["S2", "P3", "in_stock", ""],
            ]
        ),
        "devices",
    )
    assert errors(run) == {
        2: "Field “Installed at contact” (contact): An installed item must be installed at a "
        "contact.",
        3: "Column “Warehouse” (warehouse): A device in stock must be in a warehouse.",
    }


def test_every_lead_and_gateway_request_validation_message(run_import):
    run = run_import(
        csv_bytes(
            [
                ["Code", "First name", "E-mail", "State"],
                ["L1", "", "", "new"],
                ["L2", "Ana", "", "nurture"],
                ["L3", "Ana", "", "qualified"],
            ]
        ),
        "leads",
    )
    assert errors(run) == {
        2: "Column “First name” (first_name): A lead needs a name, a company name or an e-mail.",
        3: "Column “State” (state): A lead cannot be imported into nurture; its drip sets that.",
    }
    assert Lead.objects.get().state == "qualified"
    Contact.objects.create(code="C1", first_name="A")
    run = run_import(
        csv_bytes(
            [
                ["Reference", "Gateway", "Contact", "Amount", "Requested at"],
                ["R1", "stripe", "C1", "-5", "2026-03-01 10:00"],
                ["R2", "stripe", "C1", "5", "2026-03-01 10:00"],
            ]
        ),
        "payment_gateway_requests",
    )
    assert errors(run) == {2: "Column “Amount” (amount): The amount must be positive."}
    assert PaymentGatewayRequest.objects.get().amount == Decimal(5)


def test_rows_with_too_few_or_too_many_values_are_rejected(run_import):
    content = b"Code,First name\nC1,Ana\nC2\nC3,Bia,extra\n"
    run = run_import(content)
    assert errors(run) == {
        3: "The row has 1 values but the file has 2 columns; the file may have been cut short.",
        4: "The row has 3 values but the file has 2 columns; a value may contain an unquoted "
        "delimiter.",
    }


def test_a_database_refusal_rejects_only_the_row_at_fault(run_import):
    # The kind is not in the file, so the row's own rules cannot tell that blanking the only
    # name of a person breaks the record; the database's check refuses it, and only it.
    Contact.objects.create(code="C1", first_name="Ana")
    Contact.objects.create(code="C2", first_name="Bia")
    content = csv_bytes([["Code", "First name"], ["C1", ""], ["C2", "Beatriz"]])
    run = run_import(content, update_existing=True)
    assert errors(run) == {2: "A person needs a first or a last name."}
    assert Contact.objects.get(code="C1").first_name == "Ana"
    assert Contact.objects.get(code="C2").first_name == "Beatriz"


def test_reward_participants_and_scheme_codes_match_by_scheme_and_code(run_import):
    RewardScheme.objects.create(code="CLUB", name="Club", is_closed_loop=True)
    Contact.objects.create(code="C1", first_name="A")
    run = run_import(
        csv_bytes([["Code"], ["X1"], ["X2"], ["X1"]]),
        "reward_scheme_codes",
        settings={"scheme": "CLUB"},
    )
    assert sorted(RewardSchemeCode.objects.values_list("code", flat=True)) == ["X1", "X2"]
    assert list(errors(run)) == [4]
    run = run_import(
        csv_bytes(
            [
                ["Scheme", "Contact", "Joined on", "Points"],
                ["CLUB", "C1", "2026-01-01", "5"],
                ["CLUB", "C9", "2026-01-01", "5"],
            ]
        ),
        "reward_participants",
    )
    assert errors(run) == {3: "Column “Contact” (contact): there is no contact “C9”."}
    assert RewardParticipant.objects.get().points_balance == 5


def test_products_with_families_created(run_import):
    content = csv_bytes([["Code", "Name", "Family", "Price"], ["P1", "Fibre", "NET", "49,90"]])
    run_import(content, "products", create_missing=True)
    product = Product.objects.get()
    assert (product.family.code, product.unit_price) == ("NET", Decimal("49.90"))
    assert ProductFamily.objects.get().name == "NET"


def test_a_file_without_a_header_row_is_mapped_by_column_number(run_import):
    content = csv_bytes([["C1", "Ana"], ["C2", "Bia"]])
    run = run_import(content, header=False, mapping={"code": "Column 1", "first_name": "Column 2"})
    assert figures(run)["created"] == 2


# -- states -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"%PDF-1.7 not a table", "This is not a CSV file or a spreadsheet"),
        (b"Code,First name\n", "The file has a header but no rows to import."),
        (b'Code,First name\nC1,"cut', "Row 2 cannot be read"),
    ],
)
def test_a_file_that_cannot_be_imported_fails_the_run_with_the_reason(run_import, content, reason):
    run = run_import(content)
    assert run.state == RunState.FAILED
    assert reason in run.message
    assert run.summary()["import_state"] == "failed"
    assert not Contact.objects.exists()


def test_a_truncated_spreadsheet_fails_the_run(run_import):
    content = xlsx_bytes([HEADER, *[[f"C{n}", "A", "", "", "", ""] for n in range(300)]])
    run = run_import(content[: len(content) // 2], name="cut.xlsx")
    assert run.state == RunState.FAILED
    assert "damaged or incomplete" in run.message


def test_a_required_field_not_mapped_fails_listing_the_columns(run_import):
    run = run_import(csv_bytes([["Ref", "Label"], ["P1", "A"]]), "products")
    assert run.state == RunState.FAILED
    assert run.message == (
        "file.csv: Required field “Code” (code) is not mapped; columns it could use: “Ref”, "
        "“Label”. Required field “Name” (name) is not mapped; columns it could use: “Ref”, "
        "“Label”."
    )


def test_an_upload_over_the_size_limit_is_refused(upload, settings):
    settings.NIGHTSHIFT_IMPORT_MAX_BYTES = 10
    with pytest.raises(ValidationError, match=r"files up to 0\.0 MB can be imported"):
        upload(b"Code\nC1\nC2\nC3\n")


# -- formats and the error file ----------------------------------------------------------


def test_windows_1252_semicolon_csv_gives_an_error_file_in_the_same_dialect(
    run_import, client, operator
):
    rows = [
        ["Código", "Nome", "E-mail"],
        ["C1", "José", "jose@example.com"],
        ["C2", "Conceição", "bad"],
    ]
    run = run_import(csv_bytes(rows, delimiter=";", encoding="cp1252"))
    data_import = DataImport.objects.get(run=run)
    assert data_import.error_file.name.endswith("file.errors.csv")
    content = data_import.error_file.read().decode("cp1252")
    assert content.splitlines() == [
        "Código;Nome;E-mail;Error",
        "C2;Conceição;bad;Column “E-mail” (email): “bad” is not a valid e-mail address.",
    ]
    client.force_login(operator)
    # The run page offers it among the run's files.
    page = client.get(reverse("runs:run", args=[run.pk])).content.decode()
    link = f"/imports/{data_import.pk}/error-file/"
    assert f'href="{link}"' in page
    assert "file.errors.csv" in page
    response = client.get(link)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).decode("cp1252") == content


def test_the_error_file_round_trip_lands_every_row(run_import, tmp_path):
    rows = [
        HEADER,
        ["C1", "Ana", "", "ana@example.com", "", ""],
        ["C2", "Bia", "", "bia@", "", ""],
        ["C3", "Caio", "", "", "1990-02-30", ""],
    ]
    first = run_import(csv_bytes(rows, encoding="utf-16"))
    error_file = DataImport.objects.get(run=first).error_file
    text = error_file.read().decode("utf-16")
    fixed = text.replace("bia@,", "bia@example.com,").replace("1990-02-30", "1990-02-28")
    second = run_import(fixed.encode("utf-16"), name="file.errors.csv")
    assert second.state == RunState.COMPLETED
    assert figures(second) == {"rows": 2, "created": 2, "updated": 0, "rejected": 0}
    assert Contact.objects.count() == 3


def test_xlsx_import_and_its_xlsx_error_file_round_trip(run_import, tmp_path):
    rows = [
        HEADER,
        ["00042", "Ana", "", "ana@example.com", datetime.date(1980, 2, 3), "00501"],
        ["00043", "Bia", "", "bad", datetime.date(1981, 3, 4), "02020"],
        ["00044", "Caio", "", "", 29221, ""],
    ]
    run = run_import(xlsx_bytes(rows), name="people.xlsx")
    assert Contact.objects.get(code="00042").zip_code == "00501"
    assert Contact.objects.get(code="00044").birth_date == datetime.date(1980, 1, 1)
    error_file = DataImport.objects.get(run=run).error_file
    assert error_file.name.endswith("people.errors.xlsx")
    sheet = read_sheet(error_file.read())
    assert sheet[0] == [*HEADER, "Error"]
    assert sheet[1][:6] == ["00043", "Bia", "", "bad", datetime.date(1981, 3, 4), "02020"]
    sheet[1][3] = "bia@example.com"
    again = run_import(xlsx_bytes([row[:6] for row in sheet]), name="people.errors.xlsx")
    assert again.state == RunState.COMPLETED
    assert Contact.objects.get(code="00043").email == "bia@example.com"


@pytest.mark.parametrize(("kept_cells", "kept"), [(jobs.KEPT_CELLS, True), (5, False)])
def test_the_error_file_takes_the_rejected_rows_as_the_import_read_them(
    db, tmp_path, monkeypatch, kept_cells, kept
):
    # Kept while importing (the file is not read a third time), unless more cells were
    # rejected than are kept: then the file is read again for them.
    monkeypatch.setattr(jobs, "KEPT_CELLS", kept_cells)
    rows = [
        HEADER,
        ["C1", "Ana", "", "ana@example.com", "", ""],
        ["C2", "Bia", "", "bia@", "", ""],
        ["C3", "Caio", "", "", "1990-02-30", ""],
    ]
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes(rows))
    job = jobs.FileJob(get_importer("contacts"), path, Options())
    results = job.load(job.next_rows(0, 10))
    rejected = {result.row: result.message for result in results if result.action == "reject"}
    assert list(rejected) == [3, 4]
    # Which copy the error file took shows when the file on disk changes meanwhile.
    path.write_bytes(csv_bytes([*rows[:2], ["C2", "Edited"], ["C3", "Edited"]]))
    jobs.write_error_file(job, rejected, tmp_path / "errors.csv")
    written = (tmp_path / "errors.csv").read_text().splitlines()
    if kept:
        assert written[1:] == [
            f"C2,Bia,,bia@,,,{rejected[3]}",
            f"C3,Caio,,,1990-02-30,,{rejected[4]}",
        ]
    else:
        assert written[1:] == [f"C2,Edited,{rejected[3]}", f"C3,Edited,{rejected[4]}"]


def test_xls_import_gives_an_xlsx_error_file(run_import):
    run = run_import((FIXTURES / "contacts.xls").read_bytes(), name="contacts.xls")
    assert figures(run) == {"rows": 3, "created": 2, "updated": 0, "rejected": 1}
    assert Contact.objects.get(code="00044").birth_date == datetime.date(1980, 1, 1)
    assert Contact.objects.get(code="00042").zip_code == "01310-100"
    assert DataImport.objects.get(run=run).error_file.name.endswith("contacts.errors.xlsx")


def test_ods_import(run_import):
    rows = [HEADER, ["00042", "Ana", "", "ana@example.com", datetime.date(1980, 2, 3), "00501"]]
    run = run_import(ods_bytes(rows), name="people.ods")
    assert run.state == RunState.COMPLETED
    assert Contact.objects.get().birth_date == datetime.date(1980, 2, 3)


def test_a_chosen_sheet_is_imported(run_import):
    content = xlsx_bytes([["junk"]], sheets={"People": [["Code", "First name"], ["C1", "Ana"]]})
    run = run_import(content, name="book.xlsx", sheet="People")
    assert run.state == RunState.COMPLETED
    assert Contact.objects.get().first_name == "Ana"


def test_google_contacts_csv_imports_with_generated_codes(run_import):
    content = csv_bytes(
        [
            [
                "First Name",
                "Last Name",
                "E-mail 1 - Label",
                "E-mail 1 - Value",
                "Birthday",
                "Address 1 - Country",
            ],
            ["Ana", "Silva", "* Home", "ana@example.com", "1980-02-03", "Brazil"],
        ]
    )
    run = run_import(content, name="contacts.csv")
    assert run.state == RunState.COMPLETED
    contact = Contact.objects.get()
    assert (contact.email, contact.country) == ("ana@example.com", "BR")
    assert contact.code.startswith("I")


def test_outlook_csv_imports_with_month_first_dates(run_import):
    content = csv_bytes(
        [
            [
                "First Name",
                "Last Name",
                "E-mail Address",
                "Mobile Phone",
                "Birthday",
                "Home Country/Region",
                "Categories",
            ],
            ["Bob", "Smith", "bob@example.com", "+1 555 0100", "3/4/1980", "United States", "VIP"],
        ]
    )
    run = run_import(content, day_first=False, create_missing=True)
    assert run.state == RunState.COMPLETED
    contact = Contact.objects.get()
    assert (contact.birth_date, contact.country, contact.classification.name) == (
        datetime.date(1980, 3, 4),
        "US",
        "VIP",
    )


# -- the engine ---------------------------------------------------------------------------


def test_created_updated_and_rejected_add_up_to_the_rows_across_batches(run_import):
    Contact.objects.bulk_create(Contact(code=f"C{n}", first_name="Old") for n in range(0, 40, 4))
    rows = [["Code", "First name", "E-mail"]]
    for n in range(40):
        rows.append([f"C{n}", "New", "bad" if n % 7 == 0 else f"c{n}@example.com"])
    run = run_import(csv_bytes(rows), update_existing=True, batch_size=6)
    result = figures(run)
    assert result["created"] + result["updated"] + result["rejected"] == 40 == result["rows"]
    assert result["rejected"] == 6
    assert run.total == 40


def test_a_run_taken_over_after_its_worker_left_resumes_after_the_last_batch(
    run_import, operator, upload, scheduler_running
):
    rows = [["Code", "First name"], *[[f"C{n}", "A"] for n in range(10)], ["C1", "dup"]]
    uploaded = upload(csv_bytes(rows))
    task = actions.start_import(user=operator, entity="contacts", upload_id=uploaded.pk)
    from nightshift.runs.scheduler import fire_task_now

    run = fire_task_now(task)

    def shut_down_after_the_first_batch(progressing):
        if progressing.processed:
            engine.SHUTDOWN.set()

    try:
        handed_back = execute(run, batch_size=4, progress=shut_down_after_the_first_batch)
    finally:
        engine.SHUTDOWN.clear()
    assert (handed_back.state, handed_back.cursor) == (RunState.IN_PROGRESS, 5)
    ended = execute(handed_back, batch_size=4)
    assert figures(ended) == {"rows": 11, "created": 10, "updated": 0, "rejected": 1}
    assert list(errors(ended)) == [12]  # the duplicate of a row of the first batch


def test_log_level_all_stores_what_happened_to_every_row(run_import):
    Contact.objects.create(code="C1", first_name="Old")
    run = run_import(
        csv_bytes([["Code", "First name"], ["C1", "A"], ["C2", "B"]]),
        update_existing=True,
        log_level="all",
    )
    assert dict(RunItem.objects.filter(run=run).values_list("record_id", "message")) == {
        2: "update",
        3: "create",
    }


def test_the_starter_gets_the_summary_by_e_mail_with_the_figures_and_links(
    run_import, operator, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = run_import(
            csv_bytes([HEADER, ["C1", "Ana", "", "", "", ""], ["C2", "Bia", "", "bad", "", ""]])
        )
    (mail,) = mailoutbox
    assert mail.to == [operator.email]
    data_import = DataImport.objects.get(run=run)
    assert "Rows: 2, created 1, updated 0, rejected 1." in mail.body
    assert f"/runs/{run.pk}/" in mail.body
    assert f"/imports/{data_import.pk}/error-file/" in mail.body


def test_complete_is_idempotent_the_error_file_is_rebuilt_not_doubled(run_import):
    from nightshift.imports.processes import ImportData

    run = run_import(csv_bytes([HEADER, ["C1", "Ana", "", "bad", "", ""]]))
    process = ImportData()
    process.complete(run.definition.parameters, as_of=run.as_of, run_number=run.pk)
    data_import = DataImport.objects.get(run=run)
    assert data_import.error_file.read().decode().count("\n") == 2
    assert figures(run)["rejected"] == 1


# -- preview ------------------------------------------------------------------------------


def test_the_preview_says_what_each_row_would_do_and_writes_nothing(upload):
    Contact.objects.create(code="C1", first_name="Old")
    uploaded = upload(
        csv_bytes(
            [
                ["Code", "First name", "Classification"],
                ["C1", "A", ""],
                ["C2", "B", "VIP"],
                ["C3", "", ""],
            ]
        )
    )
    preview = actions.preview_import(
        upload_id=uploaded.pk, entity="contacts", update_existing=True, create_missing=True
    )
    assert [(r["row"], r["action"], r["message"]) for r in preview["rows"]] == [
        (2, "update", ""),
        (3, "create", "creates contact classification “VIP”"),
        (4, "reject", "Column “First name” (first_name): A person needs a first or a last name."),
    ]
    assert Contact.objects.count() == 1
    assert not ContactClassification.objects.exists()
