"""Fixtures of the archiving tests: old and recent records of every archivable entity, each
with its children, an archive definition and a helper that runs it inline."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from nightshift.archiving import archiver
from nightshift.crm import models as crm
from nightshift.runs import actions as runs
from nightshift.runs import engine
from nightshift.runs.models import LogEntry, ProcessRun, RunItem, ScheduledTask
from nightshift.runs.scheduler import fire_task_now
from tests.conftest import PASSWORD

TODAY = datetime.date(2026, 6, 15)


def cutoff(months: int = 12) -> datetime.datetime:
    return archiver.cutoff_for(months, timezone.localdate())


OLD = datetime.timedelta(days=30)  # before the cut-off by this much


@pytest.fixture
def world(db):
    """Reference records every archivable row hangs on."""
    contact = crm.Contact.objects.create(code="C1", first_name="Ana", email="ana@example.com")
    scheme = crm.RewardScheme.objects.create(code="RS", name="Points")
    participant = crm.RewardParticipant.objects.create(
        scheme=scheme, contact=contact, joined_on=datetime.date(2020, 1, 1)
    )
    product = crm.Product.objects.create(code="P1", name="Box")
    stype = crm.SubscriptionType.objects.create(code="ST", name="TV")
    subscription = crm.Subscription.objects.create(
        number="S1", contact=contact, subscription_type=stype
    )
    return {
        "contact": contact,
        "participant": participant,
        "product": product,
        "subscription": subscription,
    }


@pytest.fixture
def make_event(world):
    counter = iter(range(1, 10**6))

    def make(kind: str = "purchase", *, created_at=None, children: int = 2, **fields):
        n = next(counter)
        created_at = created_at or cutoff() - OLD
        event = crm.CustomerEvent.objects.create(
            kind=kind,
            reference=fields.pop("reference", f"{kind[:3].upper()}-{n}"),
            contact=world["contact"],
            occurred_at=created_at,
            amount=Decimal("12.50") if kind in ("purchase", "spend_request") else None,
            currency="EUR",
            product=world["product"],
            created_at=created_at,
            description=f"event {n} “ünïcode”",
            **fields,
        )
        for c in range(children):
            crm.AwardedEvent.objects.create(
                customer_event=event,
                participant=world["participant"],
                points=Decimal(c + 1),
                awarded_at=created_at,
                created_at=created_at,
            )
        crm.SpendRewardTransaction.objects.create(
            customer_event=event,
            participant=world["participant"],
            points=Decimal("3.00"),
            spent_at=created_at,
            created_at=created_at,
        )
        return event

    return make


@pytest.fixture
def make_provisioning(world):
    counter = iter(range(1, 10**6))

    def make(*, created_at=None, parameters: int = 2):
        n = next(counter)
        created_at = created_at or cutoff() - OLD
        request = crm.ProvisioningRequest.objects.create(
            reference=f"PR-{n}",
            action="activate",
            subscription=world["subscription"],
            requested_at=created_at,
            created_at=created_at,
        )
        for p in range(parameters):
            crm.ProvisioningRequestParameter.objects.create(
                request=request, name=f"p{p}", value=str(p), created_at=created_at
            )
        return request

    return make


@pytest.fixture
def make_rated_item(world):
    def make(*, created_at=None, discounts: int = 2):
        created_at = created_at or cutoff() - OLD
        item = crm.RatedBillingItem.objects.create(
            subscription=world["subscription"],
            product=world["product"],
            period_from=datetime.date(2024, 1, 1),
            period_to=datetime.date(2024, 1, 31),
            quantity=Decimal("2.000"),
            unit_price=Decimal("1.2345"),
            amount=Decimal("2.47"),
            rated_at=created_at,
            created_at=created_at,
        )
        for d in range(discounts):
            crm.AppliedAdditiveDiscount.objects.create(
                rated_billing_item=item,
                discount_code=f"D{d}",
                amount=Decimal("0.10"),
                created_at=created_at,
            )
        return item

    return make


@pytest.fixture
def make_old_run(operator):
    """An ended process run with run items and log entries (the engine's own logs)."""

    def make(*, created_at=None, items: int = 2):
        from nightshift.runs.models import RunDefinition

        created_at = created_at or cutoff() - OLD
        definition = RunDefinition.objects.filter(process_key="archive_data").first()
        if definition is None:
            definition = runs.create_definition(
                user=operator,
                process_key="archive_data",
                name="old",
                parameters={"entity": "purchase_events", "months": 12},
                schedule={"mode": "now"},
            )
        run = ProcessRun.objects.create(
            definition=definition,
            process_key=definition.process_key,
            server=definition.server or runs.ApplicationServer.default(),
            as_of=created_at.date(),
            state="completed",
            created_at=created_at,
        )
        RunItem.objects.bulk_create(
            RunItem(run=run, record_id=i, ok=True, message=f"item {i}") for i in range(items)
        )
        LogEntry.objects.create(run=run, source="run", message="ended", at=created_at)
        return run

    return make


@pytest.fixture
def archive_run(archivist):
    """Define, submit (with the password) and execute an archive run inline; the run ended."""

    def run(entity: str = "purchase_events", months: int = 12, *, batch_size: int = 2, **kw):
        definition = runs.create_definition(
            user=archivist,
            process_key="archive_data",
            name=f"Archive {entity}",
            parameters={"entity": entity, "months": months},
            schedule={"mode": "now"},
            **kw,
        )
        task = runs.submit_definition(
            user=archivist, unified_code=definition.unified_code, password=PASSWORD
        )
        return execute(task, batch_size=batch_size)

    return run


def execute(task: ScheduledTask, *, batch_size: int = 2) -> ProcessRun:
    run = fire_task_now(task) or ProcessRun.objects.filter(task=task).get()
    engine.execute(run.pk, worker_id="test-worker", batch_size=batch_size)
    run.refresh_from_db()
    return run


API = "/api/v1"


@pytest.fixture
def call(client):
    """``call(user, "get", "/archives", body)``: the API as ``user``, one token per user."""
    import json

    from nightshift.api.actions import create_token

    secrets: dict[int, str] = {}

    def request(user, method: str, path: str, body=None):
        if user.pk not in secrets:
            secrets[user.pk] = create_token(user=user, name="tests")[1]
        kwargs = {"headers": {"Authorization": f"Bearer {secrets[user.pk]}"}}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(client, method)(f"{API}{path}", **kwargs)

    return request


@pytest.fixture
def archived(make_event, archive_run):
    """Three old purchases archived (two chunks), and a live spend request referring to one
    of them, now read-only."""

    def make():
        purchases = [make_event("purchase") for _ in range(3)]
        spend = make_event("spend_request", created_at=timezone.now(), related_event=purchases[0])
        run = archive_run("purchase_events", batch_size=2)
        from nightshift.archiving.models import Archive

        spend.refresh_from_db()
        return Archive.objects.get(run_number=run.pk), purchases, spend

    return make
