"""Deterministic demo data for every CRM and mail record, so every batch process has work on
day one.

The same seed and the same local date give the same rows: every random choice comes from a
``random.Random`` seeded per step (``"<seed>:<step>"``), and every date or time is an offset from
the local midnight of today, never from the clock's current second. Seeding per step keeps one
step's output stable when another step draws more or fewer numbers.

Volumes come from :mod:`nightshift.crm.demo.sizes`; the large size writes millions of rows, so:

1. rows are built lazily, one at a time, into a :class:`Sink` that writes ``CHUNK_SIZE`` rows per
   transaction with ``bulk_create`` (memory stays flat, no giant transaction);
2. primary keys are assigned here, from ``max(id) + 1``, so children point at parents without
   reading anything back; database sequences are reset once at the end (PostgreSQL needs it);
3. Faker is called only to fill small pools of names and addresses, then rows draw from the
   pools: Faker costs tens of microseconds a call, a million calls would dominate the load.

The scenario rows the processes look for (birthdays today, short term deactivations ending
today, overdue invoices, late jobs …) are placed on fixed indices, documented in
:class:`Scenario`, so they exist in every size and tests can find them.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import logging
import random
import time
import unicodedata
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from django.apps import apps
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone
from faker import Faker

from nightshift.core import roles
from nightshift.core.models import Team, Unit, UserProfile
from nightshift.crm import models as crm
from nightshift.crm.choices import (
    ActionKind,
    BehaviourCode,
    BillingFrequency,
    BindingState,
    ContactKind,
    ContactStatus,
    CustomerEventKind,
    DeviceState,
    InvoiceState,
    JobState,
    LeadState,
    NotificationKind,
    NotificationState,
    OpportunityStage,
    PaymentGatewayRequestState,
    ProvisioningRequestState,
    SubscriptionState,
    VoucherState,
)
from nightshift.crm.demo import content
from nightshift.crm.demo.sizes import SIZES, DemoSize
from nightshift.mail.models import (
    EmailDirection,
    EmailMessage,
    EmailTemplate,
    JobAlert,
    JobKind,
    LoggedError,
    NurtureSequence,
    NurtureStep,
    SuppressionEntry,
)

logger = logging.getLogger(__name__)

__all__ = [
    "DEMO_PASSWORDS",
    "DatabaseNotEmptyError",
    "DemoResult",
    "Reporter",
    "Scenario",
    "existing_data",
    "generate_demo",
]

CHUNK_SIZE = 5_000  # rows per transaction: fast bulk inserts, yet a large load is never one
HISTORY_DAYS = 1096  # customer history spans the last 36 months (archiving selects > N months)
POOL_SIZE = 300  # names/addresses drawn from Faker per locale; rows combine them at random
LOCALES = ("en_US", "pt_BR")
# Demo-only credentials, printed by the command. Never use them outside a demo database.
DEMO_PASSWORDS = {"operator": "demo-operator-2026", "archivist": "demo-archivist-2026"}
CENT = Decimal("0.01")
CONTACT_CLASSES = [(None, 10), ("BRONZE", 45), ("SILVER", 27), ("GOLD", 13), ("PLATINUM", 5)]
CONTACT_STATUSES = [
    (ContactStatus.ACTIVE, 78),
    (ContactStatus.INACTIVE, 10),
    (ContactStatus.NOT_INTEGRATED, 8),
    (ContactStatus.REJECTED, 4),
]
MAILBOX_TOPICS = [
    "Question about my last invoice",
    "Mudança de plano",
    "Installation appointment",
    "Segunda via do boleto",
    "Wi-Fi keeps dropping",
]


class Scenario:
    """Fixed positions of the rows the processes must find in every size.

    Contact indices (0-based, in creation order; codes are ``CUS-<index + 1>``) are persons with
    an e-mail unless said otherwise. "Unsettled" contacts owe an overdue invoice; "settled" ones
    owe nothing at all, so a short term process run can be checked both ways.
    """

    BIRTHDAY_TODAY = range(5)
    LEAP_DAY_BIRTHDAY = 5  # born on 29 February
    REJECTED_WITH_EMAIL = range(6, 10)  # not yet on the suppression list
    WITHOUT_EMAIL = range(10, 13)
    STD_ENDS_TODAY_UNSETTLED = range(13, 16)
    STD_ENDS_TODAY_SETTLED = range(16, 19)
    STD_ENDED_RECENTLY_UNSETTLED = range(19, 21)  # ended 1 to 6 days ago
    STD_ENDED_RECENTLY_SETTLED = range(21, 23)
    STD_ENDED_BY_ACTION = 23  # period already ended by an end-short-term action: to be skipped
    CONTACTS = 24  # indices from here on are random

    UNSETTLED = (
        *STD_ENDS_TODAY_UNSETTLED,
        *STD_ENDED_RECENTLY_UNSETTLED,
        STD_ENDED_BY_ACTION,
    )
    SETTLED = (*STD_ENDS_TODAY_SETTLED, *STD_ENDED_RECENTLY_SETTLED)

    NURTURE_DUE_LEADS = 5  # leads 0-4: in nurture, next e-mail today or earlier
    NURTURE_REPLIED_LEAD = 5  # due today but replied: the drip must stop
    NURTURE_EXHAUSTED_LEAD = 6  # due today after the last step: closes as inactive
    LATE_TASKS = 5  # tasks 0-4 open, due 4 hours to 5 days ago
    ON_TIME_TASKS = 5  # tasks 5-9 open, due tomorrow or later
    LATE_DISPATCHES = 3
    ON_TIME_DISPATCHES = 3
    PARC_DUE_THIS_WEEK = 4  # agreements 0-3: next visit within the next 7 days
    REMINDERS_TOMORROW = 3  # first opportunities, events, actions and invoices


class Reporter(Protocol):
    """Receives progress: one step at a time, with its expected number of main rows."""

    def start(self, step: str, total: int) -> None: ...

    def advance(self, step: str, rows: int) -> None: ...


class DatabaseNotEmptyError(Exception):
    """The demo loads into an empty CRM only: adding it twice would duplicate codes."""


@dataclass
class DemoResult:
    """What a load wrote: rows per model, elapsed seconds, and the demo logins."""

    size: str
    seed: int
    rows: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    logins: dict[str, str] = field(default_factory=dict)


def existing_data() -> list[str]:
    """Labels of the CRM and mail models that already hold rows (``exists()``: no count)."""
    return [
        model._meta.label
        for app_label in ("crm", "mail")
        for model in apps.get_app_config(app_label).get_models()
        if model._default_manager.exists()
    ]


def generate_demo(
    *, size: str = "small", seed: int = 42, reporter: Reporter | None = None
) -> DemoResult:
    """Load the demo data set ``size`` generated from ``seed`` into the default database.

    Refuses (``DatabaseNotEmptyError``) when any CRM or mail table has rows: the demo assigns
    codes from 1 and would collide with, or silently mix into, existing data.
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    if found := existing_data():
        shown = ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
        raise DatabaseNotEmptyError(shown)
    started = time.perf_counter()
    generator = _Generator(SIZES[size], seed, reporter or _SilentReporter())
    generator.run()
    result = DemoResult(size=size, seed=seed, rows=generator.sink.written)
    result.logins = dict(DEMO_PASSWORDS)
    result.elapsed = time.perf_counter() - started
    return result


class _SilentReporter:
    def start(self, step: str, total: int) -> None:
        logger.debug("demo: %s (%d rows)", step, total)

    def advance(self, step: str, rows: int) -> None:
        pass


class Row:
    """A row to insert: a model and its column values by attribute name.

    Rows are built by the million; a Django model instance costs tens of microseconds to
    create and as much again for ``bulk_create`` to compile, a plain object next to nothing.
    Unset attributes read as the field's default, as on a model instance.
    """

    def __init__(self, model: type[models.Model], /, **values: Any) -> None:
        self._model = model
        self.__dict__.update(values)

    @property
    def pk(self) -> int:
        return self.id

    def __getattr__(self, name: str) -> Any:  # only called for attributes never set
        try:
            return _insert_plan(self._model).defaults[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True)
class _InsertPlan:
    """How rows of one model become one parameterised INSERT."""

    sql: str
    columns: tuple[tuple[str, Any], ...]  # attname, default
    adapters: tuple[tuple[int, Callable[[Any], Any]], ...]  # column position, adapter
    defaults: dict[str, Any]


@functools.cache
def _insert_plan(model: type[models.Model]) -> _InsertPlan:
    """The INSERT statement and per-column adapters of ``model`` (adapters only where the
    driver needs one: dates and times for SQLite, JSON everywhere)."""
    ops, quote = connection.ops, connection.ops.quote_name
    fields = model._meta.concrete_fields
    adapters: list[tuple[int, Callable[[Any], Any]]] = []
    for position, model_field in enumerate(fields):
        if isinstance(model_field, models.DateTimeField):
            adapters.append((position, _datetime_adapter()))
        elif isinstance(model_field, models.DateField):
            adapters.append((position, ops.adapt_datefield_value))
        elif isinstance(model_field, models.JSONField):
            adapt = functools.partial(model_field.get_db_prep_save, connection=connection)
            adapters.append((position, adapt))
    columns = tuple((f.attname, f.get_default()) for f in fields)
    names = ", ".join(quote(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    return _InsertPlan(
        # Table and column names come from the models, never from input.
        sql=f"INSERT INTO {quote(model._meta.db_table)} ({names}) VALUES ({marks})",  # noqa: S608
        columns=columns,
        adapters=tuple(adapters),
        defaults=dict(columns),
    )


def _datetime_adapter() -> Callable[[dt.datetime], Any]:
    """Django's adapter, or on SQLite an equivalent one several times faster (a million rows
    carry several timestamps each): aware → naive UTC → text, as Django stores them."""
    if connection.vendor != "sqlite" or connection.timezone_name != "UTC":
        return connection.ops.adapt_datetimefield_value
    last: list[Any] = [None, None]  # created_at and updated_at are one object: convert once

    def adapt(value: dt.datetime) -> str:
        if value is not last[0]:
            last[:] = [value, str(value.astimezone(dt.UTC).replace(tzinfo=None))]
        return last[1]

    return adapt


class Sink:
    """Collects rows and writes them in chunks, one transaction per chunk.

    A chunk is one ``executemany`` per model of prepared tuples: the same set-based insert as
    ``bulk_create`` without building model instances, which made the large size take an hour.
    Models are written in the order they were first added, so parents added before their
    children are inserted first; the database still checks every constraint.
    """

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.written: Counter[str] = Counter()
        self._pending: dict[type[models.Model], list[list[Any]]] = {}
        self._pending_count = 0
        self._next_id: dict[type[models.Model], int] = {}
        self._step = ""
        self._step_model: type[models.Model] | None = None

    def new_id(self, model: type[models.Model]) -> int:
        """The next free primary key of ``model`` (one MAX query the first time)."""
        if model not in self._next_id:
            current = model._default_manager.aggregate(top=Max("pk"))["top"] or 0
            self._next_id[model] = current + 1
        value = self._next_id[model]
        self._next_id[model] = value + 1
        return value

    def reserve(self, model: type[models.Model], count: int) -> int:
        """Reserve ``count`` consecutive ids of ``model``; returns the first (rows whose id is
        ``first + index`` need no lookup table)."""
        first = self.new_id(model)
        self._next_id[model] = first + count
        return first

    def step(self, name: str, model: type[models.Model], total: int) -> None:
        """Start a progress step whose bar counts rows of ``model``."""
        self.flush()
        self._step, self._step_model = name, model
        self.reporter.start(name, total)

    def add(self, row: Row) -> None:
        values = row.__dict__
        plan = _insert_plan(row._model)
        prepared = [values.get(name, default) for name, default in plan.columns]
        for position, adapt in plan.adapters:
            if prepared[position] is not None:
                prepared[position] = adapt(prepared[position])
        self._pending.setdefault(row._model, []).append(prepared)
        self._pending_count += 1
        if self._pending_count >= CHUNK_SIZE:
            self.flush()

    def flush(self) -> None:
        if not self._pending_count:
            return
        with transaction.atomic(), connection.cursor() as cursor:
            for model, rows in self._pending.items():
                cursor.executemany(_insert_plan(model).sql, rows)
        for model, rows in self._pending.items():
            self.written[model._meta.label] += len(rows)
            if model is self._step_model:
                self.reporter.advance(self._step, len(rows))
        self._pending = {}
        self._pending_count = 0

    def reset_sequences(self) -> None:
        """Move the database sequences past the ids assigned here (PostgreSQL; a no-op on
        SQLite, whose AUTOINCREMENT already follows explicit ids)."""
        statements = connection.ops.sequence_reset_sql(no_style(), list(self._next_id))
        if statements:
            with transaction.atomic(), connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)


def _password_hash(password: str) -> str:
    # Hashing is deliberately slow (PBKDF2): one hash per password and hasher list per process.
    return _cached_hash(password, tuple(settings.PASSWORD_HASHERS))


@functools.cache
def _cached_hash(password: str, hashers: tuple[str, ...]) -> str:
    return make_password(password)


def ascii_slug(text: str) -> str:
    """``"João da Silva"`` → ``"joaodasilva"``: e-mail local parts and usernames stay ASCII."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum()).lower()


def birthday_today(today: dt.date, rng: random.Random) -> dt.date:
    """A birth date whose anniversary is ``today``; on 29 February the year is a leap year."""
    years = range(1950, 2005)
    if today.month == 2 and today.day == 29:
        years = [year for year in years if year % 4 == 0]
    return dt.date(rng.choice(years), today.month, today.day)


def money(rng: random.Random, low: int, high: int) -> Decimal:
    """A random amount between ``low`` and ``high`` units, with cents."""
    return Decimal(rng.randint(low * 100, high * 100)).scaleb(-2)


def weighted(rng: random.Random, options: Sequence[tuple[Any, int]]) -> Any:
    return rng.choices([value for value, _w in options], [w for _v, w in options])[0]


@dataclass
class _Pool:
    """Names and addresses of one locale, drawn once from Faker."""

    country: str
    language: str
    currency: str
    first_names: list[str]
    last_names: list[str]
    companies: list[str]
    streets: list[str]
    places: list[tuple[str, str, str]]  # city, state, zip code
    phones: list[str]
    domains: list[str]


class _Generator:
    """One demo load. Steps run in dependency order; each keeps what later steps need."""

    def __init__(self, size: DemoSize, seed: int, reporter: Reporter) -> None:
        self.size = size
        self.seed = seed
        self.sink = Sink(reporter)
        self.today = timezone.localdate()
        # Midnight today, local time: every timestamp is an offset from it, so two loads on the
        # same day are identical whatever the time (and "due 4 hours before midnight" is more
        # than 3 hours late whenever the load runs).
        self.midnight = timezone.make_aware(dt.datetime.combine(self.today, dt.time()))
        self.history_start = self.midnight - dt.timedelta(days=HISTORY_DAYS)
        self.faker = Faker(list(LOCALES))

    def rng(self, step: str) -> random.Random:
        return random.Random(f"{self.seed}:{step}")

    def at(self, days: float = 0, hours: float = 0, minutes: float = 0) -> dt.datetime:
        """Midnight today shifted by the given offsets (negative = past)."""
        return self.midnight + dt.timedelta(days=days, hours=hours, minutes=minutes)

    def day(self, days: int) -> dt.date:
        return self.today + dt.timedelta(days=days)

    def add(self, row: Row, created: dt.datetime | None = None) -> Row:
        """Queue ``row``; its log dates are ``created`` or the start of the demo history."""
        row.created_at = row.updated_at = created or self.history_start
        self.sink.add(row)
        return row

    def run(self) -> None:
        steps: list[Callable[[], None]] = [
            self.organization,
            self.reference_data,
            self.contacts,
            self.leads,
            self.parc_agreements,
            self.opportunities,
            self.jobs,
            self.calendar,
            self.devices,
            self.rewards,
            self.subscriptions,
            self.invoices,
            self.customer_events,
            self.provisioning,
            self.rated_items,
            self.notifications,
            self.mail,
        ]
        for step in steps:
            step()
            self.sink.flush()
        self.sink.reset_sequences()

    # -- organization -----------------------------------------------------------------------

    def _pool(self, locale: str) -> _Pool:
        fake = self.faker[locale]
        fake.seed_instance(f"{self.seed}:pool:{locale}")
        brazil = locale == "pt_BR"
        state = fake.estado_sigla if brazil else fake.state_abbr
        return _Pool(
            country="BR" if brazil else "US",
            language="pt-br" if brazil else "en",
            currency="BRL" if brazil else "USD",
            first_names=[fake.first_name() for _ in range(POOL_SIZE)],
            last_names=[fake.last_name() for _ in range(POOL_SIZE)],
            companies=[fake.company() for _ in range(POOL_SIZE)],
            streets=[fake.street_address()[:200] for _ in range(POOL_SIZE)],
            places=[(fake.city()[:80], state(), fake.postcode()) for _ in range(POOL_SIZE)],
            phones=[fake.phone_number() for _ in range(POOL_SIZE)],
            domains=[fake.free_email_domain() for _ in range(20)],
        )

    def organization(self) -> None:
        """Units, the demo logins, account managers, field technicians and their teams."""
        rng = self.rng("organization")
        self.pools = {locale: self._pool(locale) for locale in LOCALES}
        self.sink.step("Organization", User, 0)
        units = self._units()
        groups = {
            name: Group.objects.get_or_create(name=name)[0]
            for name in (roles.OPERATORS, roles.ARCHIVISTS)
        }

        taken = set(User.objects.values_list("username", flat=True))
        people: list[tuple[str | None, str, str, str, str | None, str | None]] = [
            ("operator", "Olivia", "Operator", "HQ", roles.OPERATORS, DEMO_PASSWORDS["operator"]),
            (
                "archivist",
                "Arthur",
                "Archivist",
                "HQ",
                roles.ARCHIVISTS,
                DEMO_PASSWORDS["archivist"],
            ),
        ]
        for index in range(self.size.account_managers):
            pool = self.pools[LOCALES[index % 2]]
            unit = "SAO" if pool.country == "BR" else "NYC"
            people.append((None, *self._person_name(rng, pool), unit, None, None))
        for index in range(self.size.field_technicians):
            pool = self.pools[LOCALES[index % 2]]
            people.append((None, *self._person_name(rng, pool), "FLD", None, None))

        self.managers: dict[str, list[int]] = {"BR": [], "US": []}
        self.technicians: list[int] = []
        self.user_ids: dict[str, int] = {}
        self.user_email: dict[int, str] = {}
        users = []
        for username, first, last, unit_code, group, password in people:
            name = username or self._username(first, last, taken)
            taken.add(name)
            existing = User.objects.filter(username=name).first() if username else None
            if existing is not None:  # a login kept from an earlier demo: reuse it unchanged
                user_id = existing.pk
            else:
                user_id = self.sink.new_id(User)
                user = Row(
                    User,
                    id=user_id,
                    username=name,
                    first_name=first,
                    last_name=last,
                    email=f"{name}@nightshift.example",
                    password=_password_hash(password) if password else make_password(None),
                    date_joined=self.history_start,
                )
                self.sink.add(user)
                self.sink.add(
                    Row(
                        UserProfile,
                        id=self.sink.new_id(UserProfile),
                        user_id=user_id,
                        unit_id=units[unit_code].pk,
                        phone="",
                        created_at=self.history_start,
                        updated_at=self.history_start,
                    )
                )
                if group:
                    self.sink.add(
                        Row(
                            User.groups.through,
                            id=self.sink.new_id(User.groups.through),
                            user_id=user_id,
                            group_id=groups[group].pk,
                        )
                    )
            self.user_ids[name] = user_id
            self.user_email[user_id] = f"{name}@nightshift.example"
            users.append((name, unit_code))
        for name, unit_code in users[2:]:
            if unit_code == "FLD":
                self.technicians.append(self.user_ids[name])
            else:
                self.managers["BR" if unit_code == "SAO" else "US"].append(self.user_ids[name])
        self.all_managers = self.managers["BR"] + self.managers["US"]
        self._teams(units["FLD"].pk)

    def _teams(self, unit: int) -> None:
        """The PARC visiting team and two field teams share the technicians."""
        half = max(len(self.technicians) // 2, 1)
        team_specs = [
            ("PARC", "PARC visiting team", self.technicians[:half]),
            ("FIELD-N", "Field team North", self.technicians[half::2] or self.technicians),
            ("FIELD-S", "Field team South", self.technicians[half + 1 :: 2] or self.technicians),
        ]
        self.teams: dict[str, int] = {}
        for code, name, members in team_specs:
            team = Team.objects.filter(code=code).first()
            if team is None:
                team = Row(Team, id=self.sink.new_id(Team), code=code, name=name)
                team.unit_id, team.leader_id = unit, members[0]
                self.add(team)
                for member in members:
                    self.sink.add(
                        Row(
                            Team.members.through,
                            id=self.sink.new_id(Team.members.through),
                            team_id=team.pk,
                            user_id=member,
                        )
                    )
            self.teams[code] = team.pk

    def _units(self) -> dict[str, Unit | Row]:
        """The demo units by code, reusing those that exist already."""
        units: dict[str, Unit | Row] = {unit.code: unit for unit in Unit.objects.all()}
        for code, name, parent in content.UNITS:
            if code not in units:
                units[code] = Row(Unit, id=self.sink.new_id(Unit), code=code, name=name)
                units[code].parent_id = units[parent].pk if parent else None
                self.add(units[code])
        return units

    @staticmethod
    def _person_name(rng: random.Random, pool: _Pool) -> tuple[str, str]:
        return rng.choice(pool.first_names), rng.choice(pool.last_names)

    @staticmethod
    def _username(first: str, last: str, taken: set[str]) -> str:
        base = f"{ascii_slug(first)}.{ascii_slug(last)}"[:140]
        name, suffix = base, 2
        while name in taken:
            name, suffix = f"{base}{suffix}", suffix + 1
        return name

    # -- reference data ---------------------------------------------------------------------

    def _rows(self, model: type[models.Model], specs: list[dict[str, Any]]) -> dict[str, int]:
        """Queue one row per spec; returns ``code`` (or ``name``) → id."""
        ids = {}
        for spec in specs:
            obj = Row(model, id=self.sink.new_id(model), **spec)
            self.add(obj)
            ids[spec.get("code", spec.get("name"))] = obj.pk
        return ids

    def reference_data(self) -> None:
        """Classes, rules, audiences, catalogue, reward schemes, plans, action types, templates."""
        self.sink.step("Reference data", crm.Product, len(content.PRODUCTS))
        self.classifications = list(
            self._rows(
                crm.ContactClassification, [{"name": n} for n in content.CLASSIFICATIONS]
            ).values()
        )
        self.classes = self._rows(
            crm.CustomerClass,
            [{"code": c, "name": n, "rank": r} for c, n, r in content.CUSTOMER_CLASSES],
        )
        self.rules = {}
        for name, source, target, trigger, amount, months, active in content.TRANSITION_RULES:
            rule = Row(
                crm.ClassTransitionRule,
                id=self.sink.new_id(crm.ClassTransitionRule),
                name=name,
                from_class_id=self.classes[source],
                to_class_id=self.classes[target],
                trigger=trigger,
                amount=amount,
                months=months,
                is_active=active,
            )
            self.add(rule)
            self.rules[source, target] = rule.pk
        self._rows(
            crm.Audience,
            [{"name": n, "description": d, "criteria": c} for n, d, c in content.AUDIENCES],
        )
        families = self._rows(
            crm.ProductFamily, [{"code": c, "name": n} for c, n in content.PRODUCT_FAMILIES]
        )
        self.products = self._rows(
            crm.Product,
            [
                {
                    "code": code,
                    "name": name,
                    "family_id": families[family],
                    "is_service": service,
                    "is_traceable": traceable,
                    "unit_price": price,
                    "description": f"{name} ({'service' if service else 'goods'})",
                }
                for code, name, family, service, traceable, price in content.PRODUCTS
            ],
        )
        self.product_prices = {code: price for code, *_rest, price in content.PRODUCTS}
        self.traceable = [p[0] for p in content.PRODUCTS if p[4]]
        self.services = [p[0] for p in content.PRODUCTS if p[3]]
        self.goods = [p[0] for p in content.PRODUCTS if not p[3]]
        self.warehouses = list(
            self._rows(
                crm.Warehouse,
                [{"code": c, "name": n, "address": a} for c, n, a in content.WAREHOUSES],
            ).values()
        )
        self.schemes = self._rows(
            crm.RewardScheme,
            [{"code": c, "name": n, "is_closed_loop": cl} for c, n, cl in content.REWARD_SCHEMES],
        )
        self.subscription_types = list(
            self._rows(
                crm.SubscriptionType,
                [{"code": c, "name": n} for c, n in content.SUBSCRIPTION_TYPES],
            ).values()
        )
        self.price_plans = self._rows(
            crm.PricePlan,
            [{"code": c, "name": n, "monthly_fee": f} for c, n, f in content.PRICE_PLANS],
        )
        self.term_schemes = list(
            self._rows(
                crm.BillingTermScheme,
                [{"code": c, "name": n} for c, n in content.BILLING_TERM_SCHEMES],
            ).values()
        )
        self.binding_periods = list(
            self._rows(
                crm.BindingPeriod,
                [{"code": c, "name": n, "months": m} for c, n, m in content.BINDING_PERIODS],
            ).values()
        )
        action_types = [
            {"code": c, "name": n, "behaviour_code": b, "is_custom": False}
            for c, n, b in content.STANDARD_ACTION_TYPES
        ]
        code, name, behaviour = content.CUSTOM_DEACTIVATE
        action_types.append(
            {"code": code, "name": name, "behaviour_code": behaviour, "is_custom": True}
        )
        self.action_types = self._rows(crm.SubscriptionActionType, action_types)
        self.sub_action_types = self._rows(
            crm.SubscriptionSubActionType,
            [
                {"code": c, "name": n, "action_type_id": self.action_types[code]}
                for c, n in content.SUB_ACTION_TYPES
            ],
        )
        self.templates = self._rows(
            EmailTemplate,
            [
                {
                    "code": c,
                    "name": n,
                    "language": lang,
                    "subject": s,
                    "body_text": body,
                    "body_html": "<p>" + body.replace("\n\n", "</p><p>") + "</p>",
                }
                for c, n, lang, s, body in content.EMAIL_TEMPLATES
            ],
        )
        # The nurture P2 sequence the demo's nurture leads follow (steps 1-3, a week apart).
        sequence = self._rows(
            NurtureSequence, [{"code": "nurture-p2", "name": "Nurture P2", "close_after_days": 7}]
        )["nurture-p2"]
        self._rows(
            NurtureStep,
            [
                {
                    "sequence_id": sequence,
                    "position": position,
                    "delay_days": 1 if position == 1 else 7,
                    "template_id": self.templates[f"nurture-{position}"],
                }
                for position in (1, 2, 3)
            ],
        )

    # -- contacts ---------------------------------------------------------------------------

    def contacts(self) -> None:
        """Persons and companies of both locales, with the scenario contacts first."""
        rng = self.rng("contacts")
        total = self.size.contacts
        self.sink.step("Contacts", crm.Contact, total)
        self.contact_base = self.sink.reserve(crm.Contact, total)
        # Per-contact facts later steps need, kept compact: a large load has 100,000 contacts.
        self.contact_is_br = bytearray(total)
        self.contact_email: list[str] = []
        self.contact_address: list[str] = []
        self.contact_manager = array("q")
        self.rejected: list[int] = []
        for index in range(total):
            self._contact(rng, index)

    def _contact(self, rng: random.Random, index: int) -> None:
        """Contact ``index``: scenario data below ``Scenario.CONTACTS``, random above."""
        scenario = index < Scenario.CONTACTS
        locale = LOCALES[index % 2] if scenario else rng.choices(LOCALES, (4, 6))[0]
        pool = self.pools[locale]
        is_company = not scenario and rng.random() < 0.15
        first, last = self._person_name(rng, pool)
        company = rng.choice(pool.companies) if is_company else ""
        city, state, zip_code = rng.choice(pool.places)
        domain = rng.choice(pool.domains)
        if is_company:
            email = f"contato{index + 1}@{ascii_slug(company)[:30] or 'empresa'}.com"
            if pool.country == "BR":
                email += ".br"
        else:
            email = f"{ascii_slug(first)}.{ascii_slug(last)}{index + 1}@{domain}"
        status = ContactStatus.ACTIVE if scenario else weighted(rng, CONTACT_STATUSES)
        if index in Scenario.REJECTED_WITH_EMAIL:
            status = ContactStatus.REJECTED
        if index in Scenario.WITHOUT_EMAIL or (not scenario and rng.random() < 0.03):
            email = ""
        if index in Scenario.BIRTHDAY_TODAY:
            birth = birthday_today(self.today, rng)
        elif index == Scenario.LEAP_DAY_BIRTHDAY:
            birth = dt.date(rng.choice(range(1960, 2004, 4)), 2, 29)
        elif is_company:
            birth = None
        else:
            birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(365 * 64))
        managers = self.managers["BR" if pool.country == "BR" else "US"] or self.all_managers
        manager = rng.choice(managers)
        customer_class = weighted(rng, CONTACT_CLASSES)
        contact = Row(
            crm.Contact,
            id=self.contact_base + index,
            code=f"CUS-{index + 1:07d}",
            kind=ContactKind.COMPANY if is_company else ContactKind.PERSON,
            first_name=first,
            last_name=last,
            company_name=company,
            email=email,
            phone=rng.choice(pool.phones),
            birth_date=birth,
            address=rng.choice(pool.streets),
            city=city,
            state_province=state,
            zip_code=zip_code,
            country=pool.country,
            language=pool.language,
            classification_id=rng.choice(self.classifications) if rng.random() < 0.8 else None,
            status=status,
            customer_class_id=self.classes[customer_class] if customer_class else None,
            account_manager_id=manager,
        )
        self._complementary_data(rng, contact)
        created = self.history_start - dt.timedelta(days=rng.randrange(730), minutes=index)
        self.add(contact, created)
        self.contact_is_br[index] = pool.country == "BR"
        self.contact_email.append(email)
        self.contact_address.append(f"{contact.address}, {city} - {state}")
        self.contact_manager.append(manager)
        if status == ContactStatus.REJECTED and email:
            self.rejected.append(index)
        if customer_class in {"SILVER", "GOLD", "PLATINUM"} and rng.random() < 0.3:
            self._class_transition(rng, contact, customer_class)

    def _complementary_data(self, rng: random.Random, contact: Row) -> None:
        """ERP data as last night's sync left it; a third of contacts were never synced."""
        if rng.random() < 0.3:
            return
        first = self.day(-rng.randint(30, HISTORY_DAYS))
        last = first + dt.timedelta(days=rng.randint(0, (self.today - first).days))
        count = rng.randint(1, 60)
        contact.first_purchase_date = first
        contact.first_purchase_amount = money(rng, 20, 900)
        contact.last_purchase_date = last
        contact.last_purchase_amount = money(rng, 20, 900)
        contact.accumulated_purchase_count = count
        contact.accumulated_purchase_amount = money(rng, 50, 400) * count
        contact.days_since_last_purchase = (self.today - last).days
        contact.last_quotation_date = last - dt.timedelta(days=rng.randint(1, 20))
        contact.complementary_data_updated_at = self.at(-1, hours=2)

    def _class_transition(self, rng: random.Random, contact: Row, code: str) -> None:
        ranks = [c for c, _n, _r in content.CUSTOMER_CLASSES]
        previous = ranks[ranks.index(code) - 1]
        when = self.at(-rng.randint(1, HISTORY_DAYS), hours=3)
        self.add(
            Row(
                crm.ClassTransition,
                id=self.sink.new_id(crm.ClassTransition),
                contact_id=contact.pk,
                rule_id=self.rules.get((previous, code)),
                from_class_id=self.classes[previous],
                to_class_id=self.classes[code],
                transitioned_at=when,
            ),
            when,
        )

    def contact_id(self, index: int) -> int:
        return self.contact_base + index

    def random_contact(self, rng: random.Random) -> int:
        """A random non-scenario contact index (scenario contacts keep their exact data)."""
        return rng.randrange(Scenario.CONTACTS, self.size.contacts)

    def currency(self, index: int) -> str:
        return "BRL" if self.contact_is_br[index] else "USD"

    # -- sales ------------------------------------------------------------------------------

    def leads(self) -> None:
        """Leads in every state; the first ones are due in the nurture drip today."""
        rng = self.rng("leads")
        self.sink.step("Leads", crm.Lead, self.size.leads)
        states = [
            (LeadState.NEW, 20),
            (LeadState.CONTACTED, 15),
            (LeadState.NURTURE, 30),
            (LeadState.QUALIFIED, 10),
            (LeadState.CONVERTED, 10),
            (LeadState.CLOSED_INACTIVE, 15),
        ]
        sources = ["web form", "trade show", "referral", "cold call", "indicação", "partner"]
        self.lead_base = self.sink.reserve(crm.Lead, self.size.leads)
        self.lead_email: list[str] = []
        due_offsets = [0, -1, -2, 0, -5]
        for index in range(self.size.leads):
            pool = self.pools[rng.choice(LOCALES)]
            first, last = self._person_name(rng, pool)
            company = rng.choice(pool.companies) if rng.random() < 0.5 else ""
            email = f"{ascii_slug(first)}.{ascii_slug(last)}.lead{index + 1}@"
            email += rng.choice(pool.domains)
            scenario = index <= Scenario.NURTURE_EXHAUSTED_LEAD
            state = LeadState.NURTURE if scenario else weighted(rng, states)
            if not scenario and rng.random() < 0.05:
                email = ""
            created = self.at(-rng.randint(10, 400), hours=rng.uniform(8, 18))
            lead = Row(
                crm.Lead,
                id=self.lead_base + index,
                code=f"LEAD-{index + 1:06d}",
                first_name=first,
                last_name=last,
                company_name=company,
                email=email,
                phone=rng.choice(pool.phones),
                source=rng.choice(sources),
                state=state,
                owner_id=rng.choice(self.all_managers),
            )
            if state == LeadState.NURTURE:
                step = rng.randint(0, 2)
                created = min(created, self.at(-7 * step - 12, hours=9))
                if index < Scenario.NURTURE_DUE_LEADS:
                    next_date = self.day(due_offsets[index])
                elif scenario:
                    next_date = self.today
                else:
                    next_date = self.day(rng.randint(-3, 14))
                if index == Scenario.NURTURE_EXHAUSTED_LEAD:
                    step = 3
                lead.nurture_step = step
                lead.nurture_started_at = self.at(-7 * step - rng.randint(3, 10), hours=9)
                lead.next_email_date = next_date
                if step:
                    lead.last_email_sent_at = self.at(-rng.randint(3, 7), hours=6)
                if index == Scenario.NURTURE_REPLIED_LEAD:
                    lead.replied_at = self.at(-1, hours=14)
            elif state == LeadState.CONVERTED:
                lead.contact_id = self.contact_id(self.random_contact(rng))
                lead.replied_at = created + dt.timedelta(days=rng.randint(1, 20))
                lead.closed_at = lead.replied_at + dt.timedelta(days=rng.randint(1, 30))
            elif state == LeadState.QUALIFIED:
                lead.replied_at = created + dt.timedelta(days=rng.randint(1, 9))
            elif state == LeadState.CLOSED_INACTIVE:
                lead.nurture_step = 3
                lead.closed_at = created + dt.timedelta(days=rng.randint(21, 60))
            self.add(lead, min(created, self.at(-1)))
            self.lead_email.append(email)

    def parc_agreements(self) -> None:
        """Service agreements visited by the PARC team; the first are due this week."""
        rng = self.rng("parc")
        total = self.size.parc_agreements
        self.sink.step("PARC agreements", crm.ParcAgreement, total)
        self.parc_ids: list[int] = []
        for index in range(total):
            if index < Scenario.PARC_DUE_THIS_WEEK:
                next_visit = self.day(index * 2)  # today, +2, +4, +6
            elif index == Scenario.PARC_DUE_THIS_WEEK:
                next_visit = self.day(-2)  # a visit missed two days ago
            else:
                next_visit = self.day(rng.randint(8, 120))
            starts = self.day(-rng.randint(60, 900))
            contact = self.random_contact(rng)
            agreement = Row(
                crm.ParcAgreement,
                id=self.sink.new_id(crm.ParcAgreement),
                code=f"PARC-{index + 1:05d}",
                contact_id=self.contact_id(contact),
                account_manager_id=self.contact_manager[contact],
                visiting_team_id=self.teams["PARC"],
                visit_every_days=rng.choice([30, 60, 90, 180]),
                next_visit_date=next_visit,
                starts_on=starts,
                ends_on=starts + dt.timedelta(days=1095) if rng.random() < 0.5 else None,
                is_active=index <= Scenario.PARC_DUE_THIS_WEEK or rng.random() < 0.9,
            )
            self.add(agreement, self.midnight - dt.timedelta(days=(self.today - starts).days))
            self.parc_ids.append(agreement.pk)

    def opportunities(self) -> None:
        """Opportunities in every stage; the first carry a reminder for tomorrow."""
        rng = self.rng("opportunities")
        total = self.size.opportunities
        self.sink.step("Opportunities", crm.Opportunity, total)
        stages = [
            (OpportunityStage.PROSPECTING, 30),
            (OpportunityStage.PROPOSAL, 20),
            (OpportunityStage.NEGOTIATION, 15),
            (OpportunityStage.WON, 20),
            (OpportunityStage.LOST, 15),
        ]
        names = ["Fibre upgrade", "TV package", "Office connectivity", "Mesh Wi-Fi", "Combo"]
        self.opportunity_base = self.sink.reserve(crm.Opportunity, total)
        for index in range(total):
            contact = self.random_contact(rng)
            stage = weighted(rng, stages)
            created = self.at(-rng.randint(1, 540), hours=rng.uniform(8, 18))
            if index < Scenario.REMINDERS_TOMORROW:
                reminder = self.at(1, hours=9 + 2 * index)
            elif rng.random() < 0.25:
                reminder = self.at(rng.randint(-30, 30), hours=rng.randint(8, 18))
            else:
                reminder = None
            parc = rng.choice(self.parc_ids) if rng.random() < 0.1 else None
            self.add(
                Row(
                    crm.Opportunity,
                    id=self.opportunity_base + index,
                    code=f"OPP-{index + 1:06d}",
                    name=f"{rng.choice(names)} · {self.contact_address[contact].split(',')[0]}",
                    contact_id=self.contact_id(contact),
                    stage=stage,
                    amount=money(rng, 100, 25_000),
                    expected_close_date=self.day(rng.randint(-90, 120)),
                    owner_id=self.contact_manager[contact],
                    reminder_at=reminder,
                    parc_agreement_id=parc,
                ),
                created,
            )

    def jobs(self) -> None:
        """Tasks and dispatches: the first few more than 3 hours late, the next on time."""
        rng = self.rng("jobs")
        self.sink.step("Tasks and dispatches", crm.Task, self.size.tasks)
        late = [-4, -8, -24, -51, -120]  # hours before midnight: late whenever the load runs
        subjects = [
            "Call back about the proposal",
            "Send the signed contract",
            "Confirm installation date",
            "Ligar para confirmar a instalação",
            "Review overdue invoice with the customer",
            "Follow up PARC inspection",
            "Enviar proposta revisada",
        ]
        self.task_ids: list[int] = []
        for index in range(self.size.tasks):
            contact = self.random_contact(rng)
            due, state, reminder = self._job_timing(rng, index, late, Scenario.ON_TIME_TASKS)
            task = Row(
                crm.Task,
                id=self.sink.new_id(crm.Task),
                subject=rng.choice(subjects),
                description="",
                contact_id=self.contact_id(contact),
                owner_id=self.contact_manager[contact],
                manager_id=rng.choice(self.all_managers),
                state=state,
                due_at=due,
                reminder_at=reminder,
                completed_at=self._completed(rng, state, due),
                opportunity_id=(
                    self.opportunity_base + rng.randrange(self.size.opportunities)
                    if rng.random() < 0.3
                    else None
                ),
                parc_agreement_id=rng.choice(self.parc_ids) if rng.random() < 0.05 else None,
            )
            self.add(task, min(due, self.midnight) - dt.timedelta(days=rng.randint(1, 20)))
            self.task_ids.append(task.pk)

        field_teams = [self.teams["PARC"], self.teams["FIELD-N"], self.teams["FIELD-S"]]
        for index in range(self.size.dispatches):
            contact = self.random_contact(rng)
            due, state, reminder = self._job_timing(
                rng, index, late[: Scenario.LATE_DISPATCHES], Scenario.ON_TIME_DISPATCHES
            )
            team = rng.choice(field_teams)
            parc = rng.choice(self.parc_ids) if team == self.teams["PARC"] else None
            self.add(
                Row(
                    crm.Dispatch,
                    id=self.sink.new_id(crm.Dispatch),
                    code=f"DSP-{index + 1:06d}",
                    subject="PARC preventive visit" if parc else "Install or repair on site",
                    contact_id=self.contact_id(contact),
                    owner_id=rng.choice(self.technicians),
                    manager_id=self.contact_manager[contact],
                    team_id=team,
                    state=state,
                    due_at=due,
                    reminder_at=reminder,
                    completed_at=self._completed(rng, state, due),
                    address=self.contact_address[contact][:200],
                    parc_agreement_id=parc,
                ),
                min(due, self.midnight) - dt.timedelta(days=rng.randint(1, 10)),
            )

    def _job_timing(
        self, rng: random.Random, index: int, late: list[int], on_time: int
    ) -> tuple[dt.datetime, JobState, dt.datetime | None]:
        """Due date, state and reminder of job ``index``: scenario late, then on time."""
        if index < len(late):
            return self.at(hours=late[index]), JobState.OPEN, None
        if index < len(late) + on_time:
            due = self.at(1 + index - len(late), hours=17)
            return due, JobState.OPEN, self.at(1, hours=8)  # reminded tomorrow morning
        state = weighted(
            rng,
            [
                (JobState.OPEN, 30),
                (JobState.IN_PROGRESS, 15),
                (JobState.DONE, 45),
                (JobState.CANCELLED, 10),
            ],
        )
        due = self.at(rng.randint(-90, 30), hours=rng.randint(9, 18))
        if state in (JobState.OPEN, JobState.IN_PROGRESS) and rng.random() < 0.6:
            due = self.at(rng.randint(1, 30), hours=rng.randint(9, 18))  # most open work is ahead
        reminder = due - dt.timedelta(hours=rng.choice([1, 4, 24])) if rng.random() < 0.3 else None
        return due, state, reminder

    def _completed(self, rng: random.Random, state: str, due: dt.datetime) -> dt.datetime | None:
        if state != JobState.DONE:
            return None
        return min(due + dt.timedelta(hours=rng.randint(-72, 24)), self.at(-1, hours=18))

    def calendar(self) -> None:
        """Calendar events and actions, some with reminders tomorrow."""
        rng = self.rng("calendar")
        self.sink.step("Events and actions", crm.Action, self.size.actions)
        places = ["Customer site", "Head office", "Video call", "Escritório São Paulo"]
        for index in range(self.size.calendar_events):
            contact = self.random_contact(rng)
            if index < Scenario.REMINDERS_TOMORROW:
                starts = self.at(1, hours=10 + 2 * index)
                reminder = self.at(1, hours=8)
            else:
                starts = self.at(rng.randint(-180, 30), hours=rng.randint(8, 18))
                reminder = starts - dt.timedelta(minutes=30) if rng.random() < 0.5 else None
            self.add(
                Row(
                    crm.Event,
                    id=self.sink.new_id(crm.Event),
                    subject=rng.choice(["Product demo", "Contract review", "Site survey"]),
                    contact_id=self.contact_id(contact),
                    owner_id=self.contact_manager[contact],
                    starts_at=starts,
                    ends_at=starts + dt.timedelta(minutes=rng.choice([30, 60, 90, 120])),
                    location=rng.choice(places),
                    reminder_at=reminder,
                ),
                min(starts, self.midnight) - dt.timedelta(days=rng.randint(1, 30)),
            )
        kinds = list(ActionKind)
        for index in range(self.size.actions):
            contact = self.random_contact(rng)
            kind = rng.choice(kinds)
            if index < Scenario.REMINDERS_TOMORROW:
                performed, reminder = None, self.at(1, hours=9 + index)
            elif rng.random() < 0.8:
                performed = self.at(-rng.randint(1, 700), hours=rng.randint(8, 18))
                reminder = None
            else:
                performed, reminder = None, self.at(rng.randint(0, 20), hours=rng.randint(8, 18))
            self.add(
                Row(
                    crm.Action,
                    id=self.sink.new_id(crm.Action),
                    kind=kind,
                    contact_id=self.contact_id(contact),
                    owner_id=self.contact_manager[contact],
                    description=f"{kind.label} with the customer",
                    performed_at=performed,
                    reminder_at=reminder,
                ),
                performed or self.at(-rng.randint(1, 10)),
            )

    # -- catalogue and rewards -------------------------------------------------------------

    def devices(self) -> None:
        """Devices in stock in a warehouse, installed at contacts, returned and scrapped."""
        rng = self.rng("devices")
        self.sink.step("Devices", crm.Device, self.size.devices)
        self.installed_devices: list[int] = []
        states = [
            (DeviceState.IN_STOCK, 40),
            (DeviceState.INSTALLED, 45),
            (DeviceState.RETURNED, 10),
            (DeviceState.SCRAPPED, 5),
        ]
        for index in range(self.size.devices):
            product = rng.choice(self.traceable)
            state = weighted(rng, states)
            device = Row(
                crm.Device,
                id=self.sink.new_id(crm.Device),
                serial_number=f"{product.split('-')[0]}{index + 1:09d}",
                product_id=self.products[product],
                state=state,
            )
            if state == DeviceState.INSTALLED:
                device.contact_id = self.contact_id(self.random_contact(rng))
                device.installed_on = self.day(-rng.randint(1, HISTORY_DAYS))
                self.installed_devices.append(device.pk)
            elif state != DeviceState.SCRAPPED:
                device.warehouse_id = rng.choice(self.warehouses)
            self.add(device, self.at(-rng.randint(HISTORY_DAYS, HISTORY_DAYS + 200)))

    def rewards(self) -> None:
        """Closed-loop sign-up codes, participants of each scheme, and vouchers."""
        rng = self.rng("rewards")
        total = self.size.contacts
        self.sink.step("Rewards", crm.RewardParticipant, total * 3 // 4)
        vip = self.schemes["VIP"]
        used_codes = []
        for index in range(self.size.reward_codes):
            code = Row(
                crm.RewardSchemeCode,
                id=self.sink.new_id(crm.RewardSchemeCode),
                scheme_id=vip,
                code=f"VIP-{index + 1:05d}-{rng.randrange(16**4):04X}",
            )
            if index % 5 < 2:  # two codes in five already used to join
                code.used_at = self.at(-rng.randint(1, 600), hours=12)
                used_codes.append(code)
            self.add(code, self.at(-700))

        # Points are earned and spent in the main scheme; the array maps contact → participant.
        self.participant_of = array("q", bytes(8 * total))
        self.participants: list[int] = []
        rejected = set(self.rejected)
        for index in range(total):
            if index in rejected or rng.random() >= 0.6:
                continue
            self.participant_of[index] = self._participant(rng, index, self.schemes["REWARDS"])
            self.participants.append(index)
        for index in range(total):
            if self.contact_is_br[index] and rng.random() < 0.2:
                self._participant(rng, index, self.schemes["CLUBE"])
        for code, index in zip(used_codes, rng.sample(range(total), len(used_codes)), strict=True):
            self._participant(rng, index, vip, code)
        self._vouchers(rng)

    def _vouchers(self, rng: random.Random) -> None:
        """Vouchers in every state; three still active past their end date."""
        states = [
            (VoucherState.CREATED, 10),
            (VoucherState.ACTIVE, 40),
            (VoucherState.REDEEMED, 25),
            (VoucherState.CANCELLED, 5),
            (VoucherState.EXPIRED, 20),
        ]
        for index in range(self.size.vouchers):
            state = weighted(rng, states)
            if index < 3:  # still active though past their end: the expiry process has work
                state, start, end = VoucherState.ACTIVE, self.day(-90), self.day(-1 - index)
            elif state == VoucherState.CREATED:
                start = self.day(rng.randint(1, 30))
                end = start + dt.timedelta(days=rng.randint(90, 365))
            elif state == VoucherState.ACTIVE:
                start = self.day(-rng.randint(0, 200))
                end = self.day(rng.randint(0, 180))
            else:
                end = self.day(-rng.randint(1, 700))
                start = end - dt.timedelta(days=rng.randint(30, 365))
            contact = self.random_contact(rng) if rng.random() < 0.8 else None
            voucher = Row(
                crm.Voucher,
                id=self.sink.new_id(crm.Voucher),
                code=f"VCH-{index + 1:06d}-{rng.randrange(16**4):04X}",
                state=state,
                value=Decimal(rng.choice([10, 20, 50, 100])),
                currency=self.currency(contact) if contact is not None else "BRL",
                contact_id=self.contact_id(contact) if contact is not None else None,
                valid_from=start,
                valid_to=end,
            )
            if state == VoucherState.REDEEMED:
                span = max((min(end, self.today) - start).days, 0)
                voucher.redeemed_at = self.at(
                    (start - self.today).days + rng.randint(0, span), hours=15
                )
            created = self.midnight - dt.timedelta(days=max((self.today - start).days, 0) + 3)
            self.add(voucher, created)

    def _participant(
        self,
        rng: random.Random,
        index: int,
        scheme: int,
        code: Row | None = None,
    ) -> int:
        joined = code.used_at.date() if code else self.day(-rng.randint(30, HISTORY_DAYS + 300))
        participant = Row(
            crm.RewardParticipant,
            id=self.sink.new_id(crm.RewardParticipant),
            scheme_id=scheme,
            contact_id=self.contact_id(index),
            sign_up_code_id=code.pk if code else None,
            joined_on=joined,
            points_balance=money(rng, 0, 5000),
            is_active=rng.random() < 0.95,
        )
        self.add(participant, self.midnight - dt.timedelta(days=(self.today - joined).days))
        return participant.pk

    # -- subscriptions and billing ----------------------------------------------------------

    def subscriptions(self) -> None:
        """Subscriptions with billing terms and actions, including the short term scenario."""
        rng = self.rng("subscriptions")
        total = max(self.size.subscriptions, Scenario.CONTACTS)
        self.sink.step("Subscriptions", crm.Subscription, total)
        std_scenario = [
            *((i, 0) for i in Scenario.STD_ENDS_TODAY_UNSETTLED),
            *((i, 0) for i in Scenario.STD_ENDS_TODAY_SETTLED),
            *((i, -1 - n * 2) for n, i in enumerate(Scenario.STD_ENDED_RECENTLY_UNSETTLED)),
            *((i, -2 - n * 2) for n, i in enumerate(Scenario.STD_ENDED_RECENTLY_SETTLED)),
            (Scenario.STD_ENDED_BY_ACTION, -2),
        ]
        states = [
            (SubscriptionState.EFFECTIVE, 65),
            (SubscriptionState.SHORT_TERM_NOT_EFFECTIVE, 7),
            (SubscriptionState.NOT_EFFECTIVE, 12),
            (SubscriptionState.CANCELLED, 8),
            (SubscriptionState.DRAFT, 8),
        ]
        self.billable: list[tuple[int, int]] = []  # (subscription id, contact index)
        self.subscription_of: dict[int, int] = {}
        for index in range(total):
            if index < len(std_scenario):
                contact, end_offset = std_scenario[index]
                state = SubscriptionState.SHORT_TERM_NOT_EFFECTIVE
            else:
                contact, end_offset = self.random_contact(rng), rng.randint(1, 45)
                state = weighted(rng, states)
            sub = Row(
                crm.Subscription,
                id=self.sink.new_id(crm.Subscription),
                number=f"SUB-{index + 1:07d}",
                contact_id=self.contact_id(contact),
                subscription_type_id=rng.choice(self.subscription_types),
                state=state,
            )
            created = self.day(-rng.randint(120, HISTORY_DAYS))
            if state != SubscriptionState.DRAFT:
                sub.activated_on = created + dt.timedelta(days=rng.randint(1, 10))
                self.billable.append((sub.pk, contact))
                self.subscription_of.setdefault(contact, sub.pk)
            if state == SubscriptionState.SHORT_TERM_NOT_EFFECTIVE:
                sub.short_term_end_date = self.day(end_offset)
                sub.short_term_start_date = self.day(end_offset - rng.randint(14, 60))
            elif state in (SubscriptionState.NOT_EFFECTIVE, SubscriptionState.CANCELLED):
                sub.deactivated_on = self.day(-rng.randint(1, 100))
            self.add(sub, self.midnight - dt.timedelta(days=(self.today - created).days))
            self._billing_terms(rng, sub, created)
            self._subscription_actions(rng, sub, contact)

    def _billing_terms(self, rng: random.Random, sub: Row, created: dt.date) -> None:
        """Exactly one effective term; a third also have an earlier, closed term."""
        start = sub.activated_on or created
        plans = list(self.price_plans.values())
        if sub.activated_on and rng.random() < 0.33:
            switched = start + dt.timedelta(
                days=rng.randint(30, max((self.today - start).days, 31))
            )
            switched = min(switched, self.today)
            self._term(rng, sub, plans, start, switched - dt.timedelta(days=1), effective=False)
            start = switched
        self._term(rng, sub, plans, start, None, effective=True)

    def _term(
        self,
        rng: random.Random,
        sub: Row,
        plans: list[int],
        start: dt.date,
        end: dt.date | None,
        *,
        effective: bool,
    ) -> None:
        in_binding = rng.random() < 0.4
        self.add(
            Row(
                crm.BillingTerm,
                id=self.sink.new_id(crm.BillingTerm),
                subscription_id=sub.pk,
                price_plan_id=rng.choice(plans),
                scheme_id=rng.choice(self.term_schemes),
                billing_frequency=weighted(
                    rng,
                    [
                        (BillingFrequency.MONTHLY, 80),
                        (BillingFrequency.QUARTERLY, 10),
                        (BillingFrequency.ANNUALLY, 10),
                    ],
                ),
                binding_state=BindingState.IN_BINDING
                if in_binding
                else BindingState.OUT_OF_BINDING,
                binding_period_id=rng.choice(self.binding_periods) if in_binding else None,
                effective_from=start,
                effective_to=max(end, start) if end else None,
                is_effective=effective,
                requires_settled_balance=rng.random() < 0.9,
                max_unsettled_balance=Decimal(rng.choice([0, 0, 0, 20])),
            ),
            self.midnight - dt.timedelta(days=max((self.today - start).days, 0)),
        )

    def _subscription_actions(self, rng: random.Random, sub: Row, contact: int) -> None:
        """The log of what was done to the subscription, matching its state."""
        actions: list[tuple[str, str, dt.date, str | None]] = []
        if sub.activated_on:
            actions.append((BehaviourCode.ACTIVATE, "ACTIVATE", sub.activated_on, None))
        if sub.state == SubscriptionState.SHORT_TERM_NOT_EFFECTIVE:
            start = sub.short_term_start_date
            actions.append((BehaviourCode.SHORT_TERM_DEACTIVATE, "ST-DEACTIVATE", start, None))
            if contact == Scenario.STD_ENDED_BY_ACTION:
                ended = start + dt.timedelta(days=3)
                actions.append(
                    (BehaviourCode.END_SHORT_TERM_DEACTIVATION, "END-ST-DEACTIVATE", ended, None)
                )
        elif sub.state == SubscriptionState.NOT_EFFECTIVE:
            if rng.random() < 0.3:  # deactivated by the short term process for non-payment
                actions.append(
                    (BehaviourCode.DEACTIVATE, "DEACT-NONPAY", sub.deactivated_on, "UNSETTLED")
                )
            else:
                actions.append((BehaviourCode.DEACTIVATE, "DEACTIVATE", sub.deactivated_on, None))
        elif sub.state == SubscriptionState.CANCELLED:
            actions.append((BehaviourCode.CANCEL, "CANCEL", sub.deactivated_on, None))
        for behaviour, type_code, performed, sub_type in actions:
            self.add(
                Row(
                    crm.SubscriptionAction,
                    id=self.sink.new_id(crm.SubscriptionAction),
                    subscription_id=sub.pk,
                    behaviour_code=behaviour,
                    action_type_id=self.action_types[type_code],
                    sub_action_type_id=self.sub_action_types[sub_type] if sub_type else None,
                    performed_on=performed,
                    reason="Customer request" if sub_type is None else "Unsettled balance",
                ),
                self.midnight - dt.timedelta(days=max((self.today - performed).days, 0)),
            )

    def invoices(self) -> None:
        """Invoices over 36 months: settled with payments, overdue with penalties, not yet due."""
        rng = self.rng("invoices")
        total = self.size.contacts
        self.sink.step("Invoices", crm.Invoice, total * 3)
        unsettled, settled = set(Scenario.UNSETTLED), set(Scenario.SETTLED)
        number = 0
        reminders = 0
        for contact in range(total):
            count = rng.randint(0, 6) if contact >= Scenario.CONTACTS else rng.randint(1, 4)
            issued_days = sorted(rng.randint(1, HISTORY_DAYS) for _ in range(count))
            if contact in unsettled:
                issued_days[0] = 75  # issued 75 days ago, 30 days' terms: 45 days overdue
            for nth, days_ago in enumerate(issued_days):
                number += 1
                forced_overdue = contact in unsettled and nth == 0
                remind = reminders < Scenario.REMINDERS_TOMORROW
                reminded = self._invoice(
                    rng,
                    number=number,
                    contact=contact,
                    days_ago=days_ago,
                    overdue=forced_overdue,
                    settled=contact in settled,
                    remind=remind,
                )
                reminders += reminded

    def _invoice(
        self,
        rng: random.Random,
        *,
        number: int,
        contact: int,
        days_ago: int,
        overdue: bool,
        settled: bool,
        remind: bool,
    ) -> bool:
        issued = self.day(-days_ago)
        terms = 30 if overdue else rng.choice([15, 30, 30, 30, 45])
        due = issued + dt.timedelta(days=terms)
        amount = money(rng, 40, 2_500)
        if overdue:
            state = "overdue"
        elif settled:  # paid even if not yet due: these contacts owe nothing at all
            state = InvoiceState.SETTLED
        elif due >= self.today:
            state = "open"
        else:
            state = weighted(rng, [(InvoiceState.SETTLED, 82), ("overdue", 13), ("cancelled", 5)])
        invoice = Row(
            crm.Invoice,
            id=self.sink.new_id(crm.Invoice),
            code=f"INV-{issued.year}-{number:07d}",
            contact_id=self.contact_id(contact),
            subscription_id=self.subscription_of.get(contact) if rng.random() < 0.6 else None,
            state=InvoiceState.POSTED,
            issued_on=issued,
            payment_terms_days=terms,
            amount=amount,
            balance=amount,
            currency=self.currency(contact),
        )
        issued_at = self.midnight - dt.timedelta(days=days_ago) + dt.timedelta(hours=3)
        payments: list[tuple[Decimal, dt.datetime]] = []
        penalties: list[tuple[dt.date, Decimal]] = []
        reminded = False
        if state == InvoiceState.SETTLED:
            invoice.state, invoice.balance = InvoiceState.SETTLED, Decimal(0)
            paid_days = rng.randint(1, terms + 10)
            if rng.random() < 0.2:  # paid in two instalments
                first = (amount / 2).quantize(CENT)
                payments += [(first, issued_at + dt.timedelta(days=paid_days // 2))]
                payments += [(amount - first, issued_at + dt.timedelta(days=paid_days))]
            else:
                payments.append((amount, issued_at + dt.timedelta(days=paid_days)))
        elif state == "cancelled":
            invoice.state, invoice.balance = InvoiceState.CANCELLED, Decimal(0)
        elif state == "overdue":
            payments, penalties = self._overdue(rng, invoice, issued_at, partly_paid=not overdue)
        elif remind:
            invoice.reminder_at, reminded = self.at(1, hours=10), True
        self.add(invoice, issued_at)
        self._invoice_children(rng, invoice, payments, penalties)
        if rng.random() < 0.2:
            self._gateway_request(rng, invoice, issued_at, state)
        return reminded

    def _overdue(
        self, rng: random.Random, invoice: Row, issued_at: dt.datetime, *, partly_paid: bool
    ) -> tuple[list[tuple[Decimal, dt.datetime]], list[tuple[dt.date, Decimal]]]:
        """Make ``invoice`` overdue: maybe partly paid, maybe charged late penalties."""
        amount, terms = invoice.amount, invoice.payment_terms_days
        due = invoice.issued_on + dt.timedelta(days=terms)
        payments: list[tuple[Decimal, dt.datetime]] = []
        penalties: list[tuple[dt.date, Decimal]] = []
        paid = Decimal(0)
        if partly_paid and rng.random() < 0.3:
            paid = (amount * Decimal(rng.randint(10, 60)) / 100).quantize(CENT)
            payments.append((paid, issued_at + dt.timedelta(days=rng.randint(1, terms))))
        late_days = (self.today - due).days
        if late_days > 1 and rng.random() < 0.5:
            for offset in sorted(rng.sample(range(1, late_days), min(3, late_days - 1))):
                penalty = (amount * Decimal("0.02")).quantize(CENT, ROUND_HALF_UP)
                penalties.append((due + dt.timedelta(days=offset), penalty))
        invoice.penalty_amount = sum((p for _d, p in penalties), Decimal(0))
        invoice.balance = amount - paid + invoice.penalty_amount
        if rng.random() < 0.2:
            invoice.reminder_at = self.at(rng.randint(0, 5), hours=10)
        return payments, penalties

    def _invoice_children(
        self,
        rng: random.Random,
        invoice: Row,
        payments: list[tuple[Decimal, dt.datetime]],
        penalties: list[tuple[dt.date, Decimal]],
    ) -> None:
        due = invoice.issued_on + dt.timedelta(days=invoice.payment_terms_days)
        for nth, (paid_amount, paid_when) in enumerate(payments, start=1):
            paid_at = min(paid_when, self.at(-1, hours=12))
            self.add(
                Row(
                    crm.Payment,
                    id=self.sink.new_id(crm.Payment),
                    invoice_id=invoice.pk,
                    amount=paid_amount,
                    paid_at=paid_at,
                    method=rng.choice(content.PAYMENT_METHODS),
                    reference=f"PAY-{invoice.pk:08d}-{nth}",
                ),
                paid_at,
            )
        for charged_on, penalty in penalties:
            self.add(
                Row(
                    crm.InvoicePenalty,
                    id=self.sink.new_id(crm.InvoicePenalty),
                    invoice_id=invoice.pk,
                    charged_on=charged_on,
                    days_overdue=(charged_on - due).days,
                    rule="late-2pct",
                    rate=Decimal("0.0200"),
                    amount=penalty,
                ),
                self.midnight - dt.timedelta(days=(self.today - charged_on).days),
            )

    def _gateway_request(
        self, rng: random.Random, invoice: Row, issued_at: dt.datetime, state: str
    ) -> None:
        if state == InvoiceState.SETTLED:
            outcome = PaymentGatewayRequestState.SUCCESSFUL
        elif state == "open":
            outcome = PaymentGatewayRequestState.PENDING
        else:
            outcome = weighted(
                rng,
                [
                    (PaymentGatewayRequestState.FAILED, 60),
                    (PaymentGatewayRequestState.PENDING, 25),
                    (PaymentGatewayRequestState.CANCELLED, 15),
                ],
            )
        requested = min(issued_at + dt.timedelta(days=rng.randint(0, 20)), self.at(-1, hours=4))
        answers = {
            PaymentGatewayRequestState.SUCCESSFUL: ("00", "Approved"),
            PaymentGatewayRequestState.FAILED: rng.choice(
                [("51", "Insufficient funds"), ("05", "Do not honour"), ("54", "Expired card")]
            ),
            PaymentGatewayRequestState.CANCELLED: ("", "Cancelled by the merchant"),
            PaymentGatewayRequestState.PENDING: ("", ""),
        }
        code, message = answers[outcome]
        self.add(
            Row(
                crm.PaymentGatewayRequest,
                id=self.sink.new_id(crm.PaymentGatewayRequest),
                reference=f"PGW-{invoice.pk:08d}",
                gateway=rng.choice(content.GATEWAYS),
                contact_id=invoice.contact_id,
                invoice_id=invoice.pk,
                amount=invoice.amount,
                currency=invoice.currency,
                state=outcome,
                requested_at=requested,
                responded_at=(
                    None
                    if outcome == PaymentGatewayRequestState.PENDING
                    else requested + dt.timedelta(seconds=rng.randint(1, 90))
                ),
                response_code=code,
                response_message=message,
            ),
            requested,
        )

    # -- high-volume history ----------------------------------------------------------------

    def spread(self, index: int, total: int, rng: random.Random) -> dt.datetime:
        """Row ``index`` of ``total`` placed evenly over the history, ascending with the index."""
        seconds = (index + rng.random()) * (HISTORY_DAYS * 86_400 - 3_600) / total
        return self.history_start + dt.timedelta(seconds=int(seconds))

    def customer_events(self) -> None:
        """The five kinds of customer event spread evenly over 36 months, with the awarded
        events of purchases, referrals and achievements and the spend transactions."""
        rng = self.rng("customer-events")
        total = self.size.customer_events
        self.sink.step("Customer events", crm.CustomerEvent, total)
        kinds = [
            (CustomerEventKind.PURCHASE, 40),
            (CustomerEventKind.SPEND_REQUEST, 15),
            (CustomerEventKind.REFERRAL, 10),
            (CustomerEventKind.ACHIEVEMENT, 15),
            (CustomerEventKind.FINANCIAL_STATEMENT, 20),
        ]
        kind_values = [kind for kind, _weight in kinds]
        # Cumulative weights once: choices() would rebuild them for each of a million rows.
        cumulative = list(itertools.accumulate(weight for _kind, weight in kinds))
        prefixes = {
            CustomerEventKind.PURCHASE: "PUR",
            CustomerEventKind.SPEND_REQUEST: "SPD",
            CustomerEventKind.REFERRAL: "REF",
            CustomerEventKind.ACHIEVEMENT: "ACH",
            CustomerEventKind.FINANCIAL_STATEMENT: "FST",
        }
        last_purchase = array("q", bytes(8 * self.size.contacts))
        products = [self.products[code] for code in self.goods + self.services]
        contacts = self.size.contacts
        base = self.event_base = self.sink.reserve(crm.CustomerEvent, total)
        for index in range(total):
            kind = rng.choices(kind_values, cum_weights=cumulative)[0]
            if kind == CustomerEventKind.SPEND_REQUEST and self.participants:
                contact = rng.choice(self.participants)
            else:
                contact = rng.randrange(contacts)
            occurred = self.spread(index, total, rng)
            event = Row(
                crm.CustomerEvent,
                id=base + index,
                kind=kind,
                reference=f"{prefixes[kind]}-{index + 1:08d}",
                contact_id=self.contact_id(contact),
                occurred_at=occurred,
            )
            participant = self.participant_of[contact]
            points = self._event_details(rng, event, contact, products)
            if kind == CustomerEventKind.PURCHASE:
                last_purchase[contact] = event.pk
            elif kind == CustomerEventKind.SPEND_REQUEST:
                event.related_event_id = last_purchase[contact] or None
            created = occurred + dt.timedelta(seconds=rng.randint(1, 600))
            self.add(event, created)
            if participant and points > 0:
                self.add(
                    Row(
                        crm.AwardedEvent,
                        id=self.sink.new_id(crm.AwardedEvent),
                        customer_event_id=event.pk,
                        participant_id=participant,
                        points=points,
                        awarded_at=created,
                        expires_on=occurred.date() + dt.timedelta(days=365),
                    ),
                    created,
                )
            elif kind == CustomerEventKind.SPEND_REQUEST and participant:
                self.add(
                    Row(
                        crm.SpendRewardTransaction,
                        id=self.sink.new_id(crm.SpendRewardTransaction),
                        customer_event_id=event.pk,
                        participant_id=participant,
                        points=event.amount,
                        spent_at=created,
                    ),
                    created,
                )

    def _event_details(
        self, rng: random.Random, event: Row, contact: int, products: list[int]
    ) -> Decimal:
        """Fill what ``event``'s kind carries; returns the reward points it earns (0: none)."""
        kind = event.kind
        if kind == CustomerEventKind.PURCHASE:
            event.amount = money(rng, 5, 1_500)
            event.currency = self.currency(contact)
            event.product_id = rng.choice(products)
            event.invoice_code = f"NF-{event.pk - self.event_base + 1:08d}"
            event.description = "Store purchase" if rng.random() < 0.6 else "Online purchase"
            return (event.amount / 10).quantize(CENT)
        if kind == CustomerEventKind.SPEND_REQUEST:
            event.amount = money(rng, 5, 200)
            event.currency = self.currency(contact)
            event.description = "Points spent at checkout"
            return Decimal(0)
        if kind == CustomerEventKind.REFERRAL:
            event.referred_contact_id = self.contact_id(rng.randrange(self.size.contacts))
            event.description = "Referred a friend"
            return Decimal(50)
        if kind == CustomerEventKind.ACHIEVEMENT:
            event.description = rng.choice(
                ["10 purchases in a year", "Profile completed", "App installed"]
            )
            return Decimal(100)
        event.amount = money(rng, 0, 3_000) or None
        event.currency = self.currency(contact)
        event.description = f"Statement {event.occurred_at:%Y-%m}"
        return Decimal(0)

    def provisioning(self) -> None:
        """Provisioning requests for devices and subscriptions, each with its parameters."""
        rng = self.rng("provisioning")
        total = self.size.provisioning_requests
        self.sink.step("Provisioning requests", crm.ProvisioningRequest, total)
        parameters = {
            "activate_service": ["plan_code", "bandwidth_mbps", "vlan"],
            "suspend_service": ["reason", "until"],
            "resume_service": ["reason"],
            "change_plan": ["from_plan", "to_plan", "effective_on"],
            "reset_device": ["mode", "ticket"],
            "firmware_update": ["version", "channel"],
        }
        recent = self.at(-1)
        for index in range(total):
            action = rng.choice(content.PROVISIONING_ACTIONS)
            requested = self.spread(index, total, rng)
            state = weighted(
                rng,
                [
                    (ProvisioningRequestState.COMPLETED, 85),
                    (ProvisioningRequestState.FAILED, 10),
                    (ProvisioningRequestState.PENDING, 5 if requested < recent else 60),
                ],
            )
            request = Row(
                crm.ProvisioningRequest,
                id=self.sink.new_id(crm.ProvisioningRequest),
                reference=f"PRQ-{index + 1:08d}",
                action=action,
                state=state,
                requested_at=requested,
            )
            if self.installed_devices and rng.random() < 0.5:
                request.device_id = rng.choice(self.installed_devices)
            elif self.billable:
                request.subscription_id = rng.choice(self.billable)[0]
            if state != ProvisioningRequestState.PENDING:
                request.completed_at = requested + dt.timedelta(seconds=rng.randint(2, 900))
            if state == ProvisioningRequestState.FAILED:
                request.error_message = rng.choice(
                    ["Device unreachable", "Timeout waiting for the OSS", "Unknown plan code"]
                )
            self.add(request, requested)
            names = parameters[action]
            for name in rng.sample(names, rng.randint(1, len(names))):
                self.add(
                    Row(
                        crm.ProvisioningRequestParameter,
                        id=self.sink.new_id(crm.ProvisioningRequestParameter),
                        request_id=request.pk,
                        name=name,
                        value=self._parameter_value(rng, name, requested),
                    ),
                    requested,
                )

    def _parameter_value(self, rng: random.Random, name: str, when: dt.datetime) -> str:
        if name in {"plan_code", "from_plan", "to_plan"}:
            return rng.choice(list(self.price_plans))
        if name in {"until", "effective_on"}:
            return (when + dt.timedelta(days=rng.randint(1, 30))).date().isoformat()
        if name == "bandwidth_mbps":
            return str(rng.choice([300, 600, 1000]))
        if name == "vlan":
            return str(rng.randint(100, 4000))
        if name == "version":
            return f"{rng.randint(1, 4)}.{rng.randint(0, 12)}.{rng.randint(0, 30)}"
        return rng.choice(["customer request", "support", "night batch", "stable", "soft"])

    def rated_items(self) -> None:
        """Monthly rated fees and usage over 36 months, some with additive discounts."""
        rng = self.rng("rated-items")
        total = self.size.rated_billing_items
        self.sink.step("Rated billing items", crm.RatedBillingItem, total)
        if not self.billable:
            return
        services = [(self.products[c], self.product_prices[c], c) for c in self.services]
        for index in range(total):
            rated_at = self.spread(index, total, rng)
            period_to = rated_at.date().replace(day=1) - dt.timedelta(days=1)
            period_from = period_to.replace(day=1)
            subscription, _contact = rng.choice(self.billable)
            product, price, code = rng.choice(services)
            quantity = Decimal(rng.randint(10, 500)) if code == "VOICE-INT" else Decimal(1)
            amount = (quantity * price).quantize(CENT)
            item = Row(
                crm.RatedBillingItem,
                id=self.sink.new_id(crm.RatedBillingItem),
                subscription_id=subscription,
                product_id=product,
                period_from=period_from,
                period_to=period_to,
                quantity=quantity,
                unit_price=price,
                amount=amount,
                rated_at=rated_at,
            )
            self.add(item, rated_at)
            if rng.random() < 0.3:
                for code, description, rate in rng.sample(content.DISCOUNTS, rng.randint(1, 2)):
                    self.add(
                        Row(
                            crm.AppliedAdditiveDiscount,
                            id=self.sink.new_id(crm.AppliedAdditiveDiscount),
                            rated_billing_item_id=item.pk,
                            discount_code=code,
                            description=description,
                            amount=max((amount * rate).quantize(CENT), CENT),
                        ),
                        rated_at,
                    )

    # -- notifications and mail -------------------------------------------------------------

    def notifications(self) -> None:
        """Per account manager: a blocking one with a deadline, reminders open and attended."""
        rng = self.rng("notifications")
        self.sink.step("Notifications", crm.Notification, len(self.all_managers) * 4)
        operator = self.user_ids["operator"]
        for user in [*self.all_managers, operator]:
            task = rng.choice(self.task_ids)
            specs = [
                (NotificationKind.NON_BLOCKING, NotificationState.OPEN, f"task:{task}:reminder"),
                (NotificationKind.NON_BLOCKING, NotificationState.ATTENDED, f"task:{task}:due"),
            ]
            if user != operator:
                opportunity = self.opportunity_base + rng.randrange(self.size.opportunities)
                specs += [
                    (
                        NotificationKind.BLOCKING,
                        NotificationState.OPEN,
                        f"opportunity:{opportunity}",
                    ),
                    (NotificationKind.BLOCKING, NotificationState.RELEASED, f"task:{task}:late"),
                ]
            for kind, state, subject in specs:
                record, number = subject.split(":")[:2]
                created = self.at(-rng.randint(1, 5), hours=6)
                notification = Row(
                    crm.Notification,
                    id=self.sink.new_id(crm.Notification),
                    user_id=user,
                    kind=kind,
                    state=state,
                    title=f"{record.capitalize()} {number} needs your attention",
                    message="Raised by the sales process rules." if kind == "blocking" else "",
                    link=f"/admin/crm/{record}/{number}/change/",
                    subject_key=subject,
                    deadline=self.at(1, hours=18) if kind == NotificationKind.BLOCKING else None,
                )
                if state == NotificationState.ATTENDED:
                    notification.attended_at = created + dt.timedelta(hours=3)
                elif state == NotificationState.RELEASED:
                    notification.released_by_id = operator
                    notification.released_at = created + dt.timedelta(hours=5)
                self.add(notification, created)

    def _mail_history(self) -> None:
        """What the expired jobs process and the error log kept from earlier days: old enough
        that today's runs (and the bug detector's last 24 hours) are not affected."""
        self.sink.step("Job lateness alerts and logged errors", JobAlert, 2)
        self.sink.add(
            Row(
                JobAlert,
                id=self.sink.new_id(JobAlert),
                job_kind=JobKind.TASK,
                job_id=self.task_ids[-1],
                level=1,
                hours_late=Decimal("3.50"),
                alerted_at=self.at(-30, hours=10),
                recipients="",
                process_run_number=None,
            )
        )
        self.sink.add(
            Row(
                LoggedError,
                id=self.sink.new_id(LoggedError),
                logged_at=self.at(-3, hours=14),
                level="ERROR",
                logger_name="django.request",
                message="Internal Server Error: /runs/",
                traceback="",
                where="",
                host="demo",
                pid=None,
            )
        )

    def mail(self) -> None:
        """Threads of e-mail (CRM sends, replies, mailbox conversations) and suppressions."""
        rng = self.rng("mail")
        total = self.size.email_messages
        self.sink.step("E-mail messages", EmailMessage, total)
        crm_address = "crm@nightshift.example"
        written = 0
        thread = 0
        while written < total:
            thread += 1
            kind = rng.random()
            # Five days back at least: replies come up to four days later, never in the future.
            started = self.at(-rng.randint(5, 365), hours=rng.uniform(7, 20))
            if kind < 0.35 or not self.lead_email:
                contact = rng.randrange(self.size.contacts)
                email, lead = self.contact_email[contact], None
                template = "birthday-pt-br" if self.contact_is_br[contact] else "birthday"
                mailbox, replies = crm_address, rng.random() < 0.2
            elif kind < 0.6:
                lead_index = rng.randrange(len(self.lead_email))
                email, lead, contact = (
                    self.lead_email[lead_index],
                    self.lead_base + lead_index,
                    None,
                )
                template = f"nurture-{rng.randint(1, 3)}"
                mailbox, replies = crm_address, rng.random() < 0.15
            else:
                contact = rng.randrange(self.size.contacts)
                email, lead, template = self.contact_email[contact], None, None
                manager = self.contact_manager[contact]
                mailbox, replies = self.user_email[manager], True
            if not email:
                continue
            messages = 1 + (rng.randint(1, 3) if replies else 0)
            previous = ""
            sent = started
            topic = rng.choice(MAILBOX_TOPICS)
            root = ""
            for nth in range(messages):
                outbound = (nth % 2 == 0) == (template is not None)
                sent += dt.timedelta(hours=rng.randint(1, 30) if nth else 0)
                domain = "nightshift.example" if outbound else email.split("@")[1]
                token = f"{sent:%Y%m%d%H%M%S}.{thread}.{nth}.{rng.getrandbits(32):08x}"
                message_id = f"<{token}@{domain}>"
                root = root or message_id
                subject = topic if template is None else template.replace("-", " ").capitalize()
                self.add(
                    Row(
                        EmailMessage,
                        id=self.sink.new_id(EmailMessage),
                        direction=EmailDirection.OUTBOUND if outbound else EmailDirection.INBOUND,
                        message_id=message_id,
                        in_reply_to=previous,
                        thread_key=root,
                        from_address=mailbox if outbound else email,
                        to_addresses=email if outbound else mailbox,
                        subject=("Re: " if nth else "") + subject,
                        body_text="Thank you!" if not outbound else "See the details below.",
                        sent_from_crm=outbound and template is not None and nth == 0,
                        template_id=self.templates[template] if template and nth == 0 else None,
                        contact_id=self.contact_id(contact) if contact is not None else None,
                        lead_id=lead,
                        mailbox=mailbox,
                        sent_at=sent,
                    ),
                    sent,
                )
                previous = message_id
                written += 1

        self.sink.step("Suppression list", SuppressionEntry, 0)
        scenario_rejected = set(Scenario.REJECTED_WITH_EMAIL)
        for contact in self.rejected:
            # Half the rejected contacts are listed already; the rest wait for the process.
            if contact in scenario_rejected or rng.random() < 0.5:
                continue
            self.add(
                Row(
                    SuppressionEntry,
                    id=self.sink.new_id(SuppressionEntry),
                    email=self.contact_email[contact].lower(),
                    reason="Contact rejected",
                    contact_id=self.contact_id(contact),
                ),
                self.at(-rng.randint(1, 300)),
            )
        for email, reason in content.SUPPRESSED_OUTSIDERS:
            self.add(
                Row(
                    SuppressionEntry,
                    id=self.sink.new_id(SuppressionEntry),
                    email=email,
                    reason=reason,
                ),
                self.at(-rng.randint(1, 300)),
            )

        self._mail_history()
