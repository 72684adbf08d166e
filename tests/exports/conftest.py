"""Fixtures of the exports tests: CRM records to export, and exports run to their end."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from python_calamine import CalamineWorkbook

from nightshift.crm.models import (
    Contact,
    ContactClassification,
    CustomerClass,
    Invoice,
    PaymentGatewayRequest,
    Product,
    ProductFamily,
    Voucher,
)
from nightshift.exports.actions import start_export
from nightshift.exports.models import ExportFile
from nightshift.exports.processes import iter_file
from nightshift.runs import engine, workers
from nightshift.runs.models import ApplicationServer, ProcessRun
from nightshift.runs.workers import registered


@pytest.fixture(autouse=True)
def _export_root(settings, tmp_path):
    settings.NIGHTSHIFT_EXPORT_ROOT = str(tmp_path / "exports")


@pytest.fixture(autouse=True)
def _default_language():
    """A request in Portuguese leaves it active in the thread; no test inherits it."""
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(autouse=True)
def _quiet_heartbeat(monkeypatch):
    monkeypatch.setattr(workers, "HEARTBEAT_INTERVAL", 3600)


@pytest.fixture
def contacts(db):
    """``contacts(n, **fields)``: n contacts C000000…, with the fields given on every one."""

    def make(count: int, **fields) -> list[Contact]:
        start = Contact.objects.count()
        return Contact.objects.bulk_create(
            Contact(code=f"C{start + n:06d}", first_name=f"Name{start + n}", **fields)
            for n in range(count)
        )

    return make


@pytest.fixture
def crm(db):
    """A few records of every exported entity, with related records and varied values."""
    gold = CustomerClass.objects.create(code="GOLD", name="Gold")
    vip = ContactClassification.objects.create(name="VIP")
    alice = Contact.objects.create(
        code="ALICE",
        first_name="Alice",
        last_name="Andrade",
        email="alice@example.com",
        city="São Paulo",
        country="BR",
        status="active",
        birth_date=datetime.date(1980, 5, 17),
        classification=vip,
        customer_class=gold,
        accumulated_purchase_amount=Decimal("1500.50"),
        last_purchase_date=datetime.date(2026, 3, 1),
    )
    bob = Contact.objects.create(
        code="BOB",
        kind="company",
        company_name="Bob & Co <Ltd>",
        last_name="Barros",
        city="Lisboa",
        country="PT",
        status="inactive",
        birth_date=datetime.date(1990, 1, 2),
        accumulated_purchase_amount=Decimal("20.00"),
    )
    family = ProductFamily.objects.create(code="NET", name="Internet")
    Product.objects.create(code="P-100", name="Fibre 100", family=family, unit_price="39.90")
    Product.objects.create(code="P-SVC", name="Installation", is_service=True, unit_price="0")
    Product.objects.create(code="P-OLD", name="ADSL", is_active=False, unit_price="19.00")
    Voucher.objects.create(
        code="V1",
        state="active",
        value="10.00",
        contact=alice,
        valid_from=datetime.date(2026, 1, 1),
        valid_to=datetime.date(2026, 12, 31),
    )
    Voucher.objects.create(
        code="V2",
        state="redeemed",
        value="25.00",
        valid_from=datetime.date(2025, 1, 1),
        valid_to=datetime.date(2025, 6, 30),
        redeemed_at=timezone.make_aware(datetime.datetime(2025, 3, 4, 10, 30)),
    )
    invoice = Invoice.objects.create(
        code="INV-1",
        contact=alice,
        issued_on=datetime.date(2026, 2, 1),
        amount="99.90",
        balance="0",
    )
    PaymentGatewayRequest.objects.create(
        reference="PG-1",
        gateway="stripe",
        contact=alice,
        invoice=invoice,
        amount="99.90",
        state="successful",
        requested_at=timezone.make_aware(datetime.datetime(2026, 2, 10, 9, 0)),
        responded_at=timezone.make_aware(datetime.datetime(2026, 2, 10, 9, 1)),
        response_code="00",
    )
    PaymentGatewayRequest.objects.create(
        reference="PG-2",
        gateway="adyen",
        contact=bob,
        amount="5.00",
        state="failed",
        requested_at=timezone.make_aware(datetime.datetime(2026, 4, 1, 23, 0)),
        response_message='=HYPERLINK("http://evil")',
    )
    return {"alice": alice, "bob": bob}


def run_to_end(run: ProcessRun, **kwargs) -> ProcessRun:
    with registered(ApplicationServer.default()) as worker_id:
        ended = engine.execute(run.pk, worker_id=worker_id, **kwargs)
    assert ended is not None
    return ended


def file_bytes(run: ProcessRun) -> bytes:
    return b"".join(iter_file(ExportFile.objects.get(run=run)))


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "a CSV export starts with the UTF-8 BOM"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def read_xlsx(data: bytes, tmp_path) -> list[list]:
    path = tmp_path / "read.xlsx"
    path.write_bytes(data)
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()


@pytest.fixture
def export(operator):
    """``export(entity, **settings)``: start an export for now and run it to its end here;
    returns the ended run."""

    def make(entity: str, *, batch_size: int | None = None, **settings) -> ProcessRun:
        started = start_export(user=operator, entity=entity, **settings)
        return run_to_end(started.run, batch_size=batch_size)

    return make
