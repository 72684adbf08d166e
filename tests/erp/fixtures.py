"""Factories and helpers of the account routines' tests: contacts with purchases, invoices and
quotations; a real HTTP ERP on loopback; running a routine through the engine.

Test modules import the fixtures they use from here as ``<name>_fixture`` (each is registered
under ``<name>``), so a test's ``accounts`` argument does not shadow an import."""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from nightshift.crm.choices import CustomerEventKind, OpportunityStage
from nightshift.crm.models import (
    Contact,
    CustomerClass,
    CustomerEvent,
    Invoice,
    Opportunity,
)
from nightshift.processes.registry import get_process
from nightshift.runs import actions, engine
from nightshift.runs.models import ApplicationServer, ProcessRun, SchedulerState
from nightshift.runs.scheduler import fire_due
from nightshift.runs.workers import registered

TODAY = datetime.date(2026, 11, 22)
TOKEN = "s3cret-erp-token"


def at(day: datetime.date, hour: int = 12) -> datetime.datetime:
    """An aware instant on ``day`` in the project's zone."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def days_ago(days: int, *, today: datetime.date = TODAY) -> datetime.date:
    return today - datetime.timedelta(days=days)


@pytest.fixture(name="frozen_today")
def frozen_today_fixture() -> Iterator[datetime.date]:
    with time_machine.travel(at(TODAY), tick=False):
        yield timezone.localdate()


@dataclass
class Accounts:
    """Makes contacts and what the CRM connector reads about them."""

    numbers: count = field(default_factory=lambda: count(1))

    def contact(self, *, created_days_ago: int = 1000, **fields: Any) -> Contact:
        number = next(self.numbers)
        fields.setdefault("first_name", f"Maria {number}")
        fields.setdefault("last_name", "Silva")
        contact = Contact.objects.create(code=f"CUS-{number:05d}", **fields)
        Contact.objects.filter(pk=contact.pk).update(created_at=at(days_ago(created_days_ago)))
        contact.refresh_from_db()
        return contact

    def purchase(
        self, contact: Contact, amount: str, on: datetime.date, *, invoice: str = ""
    ) -> CustomerEvent:
        number = next(self.numbers)
        return CustomerEvent.objects.create(
            kind=CustomerEventKind.PURCHASE,
            reference=f"PUR-{number:06d}",
            contact=contact,
            occurred_at=at(on),
            amount=Decimal(amount),
            currency="BRL",
            invoice_code=invoice,
        )

    def invoice(self, contact: Contact, on: datetime.date, amount: str = "100.00") -> Invoice:
        number = next(self.numbers)
        return Invoice.objects.create(
            code=f"NF-{number:06d}",
            contact=contact,
            issued_on=on,
            amount=Decimal(amount),
            balance=Decimal(0),
        )

    def quotation(self, contact: Contact, on: datetime.date) -> Opportunity:
        number = next(self.numbers)
        opportunity = Opportunity.objects.create(
            code=f"OPP-{number:05d}",
            name="Proposta",
            contact=contact,
            stage=OpportunityStage.PROPOSAL,
        )
        Opportunity.objects.filter(pk=opportunity.pk).update(created_at=at(on), updated_at=at(on))
        return opportunity


@pytest.fixture(name="accounts")
def accounts_fixture(db) -> Accounts:
    return Accounts()


@pytest.fixture(name="classes")
def classes_fixture(db) -> dict[str, CustomerClass]:
    return {
        code: CustomerClass.objects.create(code=code, name=name, rank=rank)
        for rank, (code, name) in enumerate(
            [("BRONZE", "Bronze"), ("SILVER", "Prata"), ("GOLD", "Ouro")], start=1
        )
    }


# -- a real HTTP ERP on loopback ---------------------------------------------------------------


@dataclass
class FakeErp:
    """The ERP's data (account code → answer per path) and every request it received."""

    url: str = ""
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    raw_body: bytes | None = None
    delay: threading.Event | None = None

    def answer(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        known = self.answers.get(path, {})
        return {"accounts": {code: known[code] for code in body["accounts"] if code in known}}


def _handler(erp: FakeErp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length))
            path = self.path.removeprefix("/erp/")
            erp.requests.append(
                {"path": path, "body": body, "authorization": self.headers.get("Authorization")}
            )
            if erp.delay is not None:
                erp.delay.wait(5)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(401, b'{"error": "invalid token"}')
            elif erp.status != 200:
                self._send(erp.status, b'{"error": "database offline"}')
            else:
                self._send(200, erp.raw_body or json.dumps(erp.answer(path, body)).encode())

        def _send(self, status: int, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            return  # quiet test output

    return Handler


@pytest.fixture(name="erp_server")
def erp_server_fixture(settings) -> Iterator[FakeErp]:
    """A real HTTP server on 127.0.0.1 (a free port), selected as the ERP."""
    erp = FakeErp()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(erp))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    erp.url = f"http://127.0.0.1:{server.server_address[1]}/erp"
    settings.NIGHTSHIFT_ERP_CONNECTOR = "http"
    settings.NIGHTSHIFT_ERP_URL = erp.url
    settings.NIGHTSHIFT_ERP_TOKEN = TOKEN
    settings.NIGHTSHIFT_ERP_TIMEOUT = 2
    try:
        yield erp
    finally:
        if erp.delay is not None:
            erp.delay.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


# -- running a routine -------------------------------------------------------------------------


def call_batch(key: str, params: dict, ids: list[int], *, as_of=TODAY, run_number=None):
    """Validate ``params`` and process one batch of ``ids`` directly (no engine)."""
    process = get_process(key)
    normalised = process.validate_parameters(params)
    return process().process_batch(normalised, ids, as_of=as_of, run_number=run_number)


def candidate_ids(key: str, params: dict, *, as_of=TODAY) -> list[int]:
    process = get_process(key)
    normalised = process.validate_parameters(params)
    return list(process().candidates(normalised, as_of=as_of).values_list("pk", flat=True))


@pytest.fixture(name="run_routine")
def run_routine_fixture(operator) -> Callable[..., ProcessRun]:
    """Define, submit and fire a routine now, then execute the run on a worker; the ended run.
    The run's date of execution is today (freeze time to fix it)."""
    SchedulerState.objects.update_or_create(pk=1, defaults={"running": True})

    def run(key: str, params: dict | None = None, **kwargs: Any) -> ProcessRun:
        definition = actions.create_definition(
            user=operator,
            process_key=key,
            name=f"{key} test",
            parameters=params or {},
            schedule={"mode": "now"},
            log_level="all",
        )
        task = actions.submit_definition(user=operator, unified_code=definition.unified_code)
        (fired,) = fire_due(task.next_fire_at)
        with registered(ApplicationServer.default()) as worker_id:
            ended = engine.execute(fired.pk, worker_id=worker_id, **kwargs)
        assert ended is not None
        return ended

    return run
