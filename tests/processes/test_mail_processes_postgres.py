"""On PostgreSQL: two workers processing the same records at once never charge or alert
twice (row locks and unique constraints, not luck)."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from nightshift.crm.models import Contact, Invoice, InvoicePenalty
from nightshift.processes.builtin.past_due_invoices import PastDueInvoices

pytestmark = pytest.mark.postgres

TODAY = datetime.date(2026, 11, 22)


def test_concurrent_batches_charge_each_invoice_once(transactional_db):
    contact = Contact.objects.create(code="C-1", first_name="Ana")
    invoices = [
        Invoice.objects.create(
            code=f"INV-{n}",
            contact=contact,
            issued_on=TODAY - datetime.timedelta(days=60),
            payment_terms_days=30,
            amount=Decimal("100.00"),
            balance=Decimal("100.00"),
        )
        for n in range(50)
    ]
    ids = [invoice.pk for invoice in invoices]
    params = PastDueInvoices.validate_parameters({"rate": "1", "rule": "daily_interest"})
    barrier = threading.Barrier(2)
    outcomes: list[list] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                outcomes.append(
                    PastDueInvoices().process_batch(params, ids, as_of=TODAY, run_number=1)
                )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert InvoicePenalty.objects.count() == 50
    charged = [sum("penalty" in o.message for o in batch) for batch in outcomes]
    assert sorted(charged) == [0, 50]
    assert set(Invoice.objects.values_list("penalty_amount", flat=True)) == {Decimal("30.00")}
