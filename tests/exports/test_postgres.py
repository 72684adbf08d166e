"""What only PostgreSQL does: CSV lines built by the database, XLSX serials computed by it.
The rest of tests/exports also runs on PostgreSQL with ``make test-postgres``."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.utils import timezone

from nightshift.crm.models import Voucher
from tests.exports.conftest import file_bytes, read_csv, read_xlsx

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

AWKWARD = ['a "quoted" word', "comma, inside", "line\nbreak", "carriage\rreturn", "=SUM(1)", ""]


def test_postgresql_builds_csv_lines_any_reader_reads_back(export, contacts):
    made = [contacts(1, last_name=text, city=text)[0] for text in AWKWARD]
    rows = read_csv(file_bytes(export("contacts", columns=["code", "last_name", "birth_date"])))
    expected = ["'=SUM(1)" if text.startswith("=") else text for text in AWKWARD]
    assert rows[1:] == [[c.code, text, ""] for c, text in zip(made, expected, strict=True)]


def test_postgresql_csv_lines_end_with_lf_and_the_header_too(export, contacts):
    contacts(2)
    data = file_bytes(export("contacts", columns=["code"]))
    assert b"\r" not in data
    assert data.decode("utf-8-sig").splitlines() == ["Code", '"C000000"', '"C000001"']


def test_postgresql_computes_xlsx_serials_in_the_organization_time_zone(
    export, contacts, settings, tmp_path
):
    settings.TIME_ZONE = "America/Sao_Paulo"
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    contact = contacts(1)[0]
    redeemed = datetime.datetime(2026, 2, 10, 2, 30, 15, tzinfo=datetime.UTC)
    Voucher.objects.create(
        code="V9",
        state="redeemed",
        value="1.00",
        contact=contact,
        valid_from=datetime.date(2026, 1, 1),
        valid_to=datetime.date(2026, 3, 31),
        redeemed_at=redeemed,
    )
    with timezone.override(zone):
        data = file_bytes(export("vouchers", file_type="xlsx", columns=["valid_to", "redeemed_at"]))
    (_header, row) = read_xlsx(data, tmp_path)
    assert row[0] in (datetime.date(2026, 3, 31), datetime.datetime(2026, 3, 31))
    assert row[1] == redeemed.astimezone(zone).replace(tzinfo=None)
