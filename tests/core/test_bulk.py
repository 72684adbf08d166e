"""Batch-sized database work: ``field__in_array`` (a list as one parameter) and ``insert_rows``
(rows without a model instance each). Both run on the suite's database, SQLite or PostgreSQL."""

from __future__ import annotations

import datetime
import sqlite3
from datetime import UTC
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction

from nightshift.core.audit import acting_as
from nightshift.core.bulk import Same, copy_text, insert_rows
from nightshift.crm.models import Contact, Invoice, ProductFamily


def make_contacts(count: int) -> list[Contact]:
    return Contact.objects.bulk_create(
        Contact(code=f"C{n:04d}", first_name=f"N{n}", last_name="Bulk") for n in range(count)
    )


def test_in_array_selects_the_listed_rows_with_one_parameter(db):
    contacts = make_contacts(3000)
    wanted = [c.pk for c in contacts[::3]]
    sent = []

    def capture(execute, sql, params, many, context):
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        found = list(Contact.objects.filter(pk__in_array=wanted).values_list("pk", flat=True))
    assert sorted(found) == sorted(wanted)
    # One parameter for a thousand ids: the statement does not grow with the list.
    ((sql, params),) = sent
    assert len(params) == 1
    assert sql.count("%s") == 1


def test_in_array_works_on_text_and_foreign_keys_and_an_empty_list(db):
    contacts = make_contacts(5)
    for code, contact in (("I1", contacts[1]), ("I2", contacts[3])):
        Invoice.objects.create(
            code=code,
            contact=contact,
            issued_on=datetime.date(2026, 1, 1),
            amount=Decimal(10),
            balance=Decimal(5),
        )
    codes = ["C0001", "C0004", "nobody"]
    assert set(Contact.objects.filter(code__in_array=codes).values_list("code", flat=True)) == {
        "C0001",
        "C0004",
    }
    on_contacts = Invoice.objects.filter(contact_id__in_array=[contacts[1].pk, contacts[2].pk])
    assert list(on_contacts.values_list("code", flat=True)) == ["I1"]
    assert not Contact.objects.filter(pk__in_array=[]).exists()


def test_insert_rows_fills_defaults_and_stamps_the_log_information(
    operator, unit, rows_a_statement
):
    # A row a statement on SQLite: the defaults, bound once a statement, reach every one.
    rows_a_statement(1)
    moment = datetime.datetime(2026, 3, 4, 5, 6, 7, tzinfo=datetime.UTC)
    rows = [("TV", "Television"), ("RAD", "Rádio"), ("PC", "Computer")]
    with time_machine.travel(moment, tick=False), acting_as(operator):
        assert insert_rows(ProductFamily, ("code", "name"), iter(rows)) == 3
    families = ProductFamily.objects.order_by("code")
    assert [(f.code, f.name) for f in families] == [
        ("PC", "Computer"),
        ("RAD", "Rádio"),
        ("TV", "Television"),
    ]
    for family in families:
        assert (family.created_by, family.updated_by) == (operator, operator)
        assert (family.created_by_unit, family.updated_by_unit) == (unit, unit)
        assert (family.created_at, family.updated_at) == (moment, moment)
    # Stored as the ORM stores datetimes: a filter on the creation date finds them.
    assert ProductFamily.objects.filter(created_at__gte=moment).count() == 3


def test_insert_rows_keeps_dates_and_decimals_exact(db):
    (contact,) = make_contacts(1)
    issued = datetime.date(2026, 2, 28)
    insert_rows(
        Invoice,
        ("code", "contact", "issued_on", "amount", "balance"),
        [("I9", contact.pk, issued, Decimal("1234.56"), Decimal("0.01"))],
    )
    invoice = Invoice.objects.get(code="I9")
    assert (invoice.issued_on, invoice.amount, invoice.balance) == (
        issued,
        Decimal("1234.56"),
        Decimal("0.01"),
    )


@pytest.fixture
def rows_a_statement():
    """On SQLite, ``rows_a_statement(n)`` lets a statement take only as many parameters as
    ``n`` product families giving their code and name need (it takes thousands of rows; the
    other columns are bound once a statement) and gives the INSERT statements run from then
    on, as they run."""
    statements: list[str] = []
    raw = limit = None

    def limited(rows: int) -> list[str]:
        nonlocal raw, limit
        if connection.vendor == "sqlite":  # elsewhere one executemany, a row a statement
            width = len([f for f in ProductFamily._meta.concrete_fields if not f.primary_key])
            connection.ensure_connection()
            raw = connection.connection
            limit = raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, rows * 2 + width - 2)
            raw.set_trace_callback(lambda sql: sql.startswith("INSERT") and statements.append(sql))
        return statements

    yield limited
    if raw is not None:
        raw.set_trace_callback(None)
        raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)


def _rows_each(statements: list[str]) -> list[int]:
    return [sql.count("), (") + 1 for sql in statements]


def test_insert_rows_writes_every_row_across_statements(db, rows_a_statement):
    statements = rows_a_statement(3)
    rows = [(f"F{n}", f"Family {n}") for n in range(10)]
    assert insert_rows(ProductFamily, ("code", "name"), rows) == 10
    found = ProductFamily.objects.order_by("pk").values_list("code", "name")
    assert list(found) == rows
    if connection.vendor == "sqlite":
        assert _rows_each(statements) == [3, 3, 3, 1]


def test_batches_of_every_size_share_a_few_statements(db, rows_a_statement):
    # The driver keeps every statement it compiled: a statement per batch size would keep
    # megabytes per size in a long import whose batches lose a different number of rows.
    statements = rows_a_statement(100)
    written = 0
    for size in range(1, 250):
        rows = [(f"F{written + n}", "Family") for n in range(size)]
        written += insert_rows(ProductFamily, ("code", "name"), rows)
    assert ProductFamily.objects.count() == written == sum(range(250))
    if connection.vendor == "sqlite":
        assert set(_rows_each(statements)) == {100, 64, 32, 16, 8, 4, 2, 1}


def test_a_row_refused_in_a_later_statement_leaves_nothing_written(db, rows_a_statement):
    rows_a_statement(3)
    rows = [(f"F{n}", "Family") for n in range(7)] + [("F1", "Again")]
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(ProductFamily, ("code", "name"), rows)
    assert not ProductFamily.objects.exists()


def test_copy_text_writes_each_type_and_escapes_only_what_copy_needs():
    rows = [
        ("plain", 1, True, datetime.date(2026, 1, 2), Decimal("1.50"), None),
        ("tab\there", None, False, None, None, None),
        ("back\\slash\nline\rend", -7, None, datetime.date(1999, 12, 31), Decimal("-0.01"), None),
    ]
    columns = [list(column) for column in zip(*rows, strict=True)]
    text = copy_text([*columns, Same("fixed"), Same(None)], len(rows))
    assert text.decode().split("\n") == [
        "plain\t1\tt\t2026-01-02\t1.50\t\\N\tfixed\t\\N",
        "tab\\there\t\\N\tf\t\\N\t\\N\t\\N\tfixed\t\\N",
        "back\\\\slash\\nline\\rend\t-7\t\\N\t1999-12-31\t-0.01\t\\N\tfixed\t\\N",
        "",
    ]


def test_copy_text_puts_same_valued_columns_where_they_stand():
    # Leading, between the given columns, ending the row, and nothing but them.
    columns = [Same(1), Same("a\tb"), ["x", "y"], Same(None), Same(datetime.date(2026, 1, 2))]
    columns += [[True, False], Same("end")]
    assert copy_text(columns, 2).decode().split("\n") == [
        "1\ta\\tb\tx\t\\N\t2026-01-02\tt\tend",
        "1\ta\\tb\ty\t\\N\t2026-01-02\tf\tend",
        "",
    ]
    assert copy_text([["x", "y"], Same(2)], 2) == b"x\t2\ny\t2\n"
    assert copy_text([Same(2), Same("z")], 3) == b"2\tz\n" * 3
    assert copy_text([Same(2)], 0) == b""
    assert copy_text([["x"], Same({"a": 1})], 1) is None


def test_copy_text_declines_values_it_does_not_write():
    # A column of mixed or unknown types is left to the driver, row by row.
    assert copy_text([[{"a": 1}]], 1) is None
    assert copy_text([[1, "1"]], 2) is None
    assert (
        copy_text([[datetime.date(2026, 1, 1), datetime.datetime(2026, 1, 1, tzinfo=UTC)]], 2)
        is None
    )


@pytest.mark.postgres
def test_copy_text_round_trips_through_postgresql(db):
    moment = datetime.datetime(2026, 3, 4, 5, 6, 7, 890, tzinfo=UTC)
    rows = [
        ("tab\there", 3, True, datetime.date(2026, 2, 28), Decimal("1234.56"), moment),
        ("back\\slash\nnew line\r", None, False, None, None, None),
        ("\\N is not null", -1, None, datetime.date(1, 1, 1), Decimal("-0.001"), moment),
        ("Ação “quoted”", 0, True, None, Decimal("1E+3"), None),
    ]
    columns = [list(column) for column in zip(*rows, strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE copied (t text, i int, b bool, d date, n numeric, m timestamptz)"
        )
        with cursor.cursor.copy("COPY copied FROM STDIN") as copy:
            copy.write(copy_text(columns, len(rows)))
        cursor.execute("SELECT * FROM copied ORDER BY i NULLS FIRST")
        assert cursor.fetchall() == sorted(rows, key=lambda r: (r[1] is not None, r[1] or 0))
