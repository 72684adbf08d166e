"""``nightshift demo``: deterministic, complete, and carrying the rows every process needs.

The small size is loaded twice for the whole module (seed 42 rolled back, then seed 42 again
through the command), because each load takes seconds; seed 7 loads only the contacts, which
is enough to tell the seeds apart. Time is frozen on an ordinary Monday so "today" is known.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import models, transaction
from django.test import override_settings

from nightshift.core import roles
from nightshift.core.models import Team, Unit, UserProfile
from nightshift.crm.choices import (
    BehaviourCode,
    CustomerEventKind,
    InvoiceState,
    JobState,
    LeadState,
    SubscriptionState,
)
from nightshift.crm.demo import DEMO_PASSWORDS, SIZES, generate_demo
from nightshift.crm.demo.generator import _Generator, _SilentReporter, birthday_today
from nightshift.crm.models import (
    BillingTerm,
    Contact,
    CustomerEvent,
    Dispatch,
    Invoice,
    Lead,
    ParcAgreement,
    RatedBillingItem,
    Subscription,
    SubscriptionAction,
    Task,
)
from nightshift.mail.models import EmailMessage

FROZEN = dt.datetime(2026, 3, 16, 14, 30, tzinfo=dt.UTC)
TODAY = FROZEN.date()
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # PBKDF2 costs a second a hash

# What the digest compares: values only, never primary keys.
DIGEST_FIELDS = {
    Contact: ("code", "kind", "first_name", "last_name", "company_name", "email", "birth_date",
              "city", "status", "customer_class__code", "accumulated_purchase_amount",
              "created_at"),
    Lead: ("code", "first_name", "email", "state", "nurture_step", "next_email_date"),
    CustomerEvent: ("kind", "reference", "contact__code", "occurred_at", "amount", "created_at"),
    Invoice: ("code", "contact__code", "state", "issued_on", "amount", "balance"),
    Subscription: ("number", "contact__code", "state", "short_term_end_date"),
    RatedBillingItem: ("subscription__number", "period_from", "amount", "rated_at"),
    EmailMessage: ("message_id", "thread_key", "subject", "sent_at"),
}  # fmt: skip


def digest(*only: type[models.Model]) -> str:
    """A hash of the values of the main demo tables (or ``only`` these), in a stable order."""
    sha = hashlib.sha256()
    for model, fields in DIGEST_FIELDS.items():
        if only and model not in only:
            continue
        for row in model.objects.order_by("pk").values_list(*fields).iterator():
            sha.update(repr(row).encode())
    return sha.hexdigest()


@dataclass
class Loaded:
    digests: dict[str, str]
    output: str


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker) -> Iterator[Loaded]:
    """Seed 42 and seed 7 loaded and rolled back, then seed 42 through the command, kept for
    the module's tests and rolled back at the end."""
    with (
        django_db_blocker.unblock(),
        time_machine.travel(FROZEN, tick=False),
        override_settings(PASSWORD_HASHERS=FAST_HASHER),
    ):
        digests = {}
        with transaction.atomic():
            generate_demo(size="small", seed=42)
            digests["first"] = digest()
            digests["first contacts"] = digest(Contact)
            transaction.set_rollback(True)
        with transaction.atomic():
            generator = _Generator(SIZES["small"], 7, _SilentReporter())
            for step in (generator.organization, generator.reference_data, generator.contacts):
                step()
            generator.sink.flush()
            digests["other seed contacts"] = digest(Contact)
            transaction.set_rollback(True)
        kept = transaction.atomic()
        kept.__enter__()
        try:
            output = io.StringIO()
            call_command("demo", "--size", "small", stdout=output)
            digests["second"] = digest()
            yield Loaded(digests, output.getvalue())
        finally:
            transaction.set_rollback(True)
            kept.__exit__(None, None, None)


pytestmark = pytest.mark.usefixtures("db")


def test_same_seed_gives_identical_data(demo):
    assert demo.digests["first"] == demo.digests["second"]


def test_other_seed_gives_different_data(demo):
    assert demo.digests["other seed contacts"] != demo.digests["first contacts"]


def test_every_crm_and_mail_model_has_rows(demo):
    models = [*apps.get_app_config("crm").get_models(), *apps.get_app_config("mail").get_models()]
    empty = [m._meta.label for m in [*models, Unit, Team, UserProfile] if not m.objects.exists()]
    assert empty == []


def test_summary_lists_rows_per_model_and_the_demo_logins(demo):
    assert "crm.CustomerEvent" in demo.output
    assert "20,000" in demo.output
    assert "Loaded in" in demo.output
    assert DEMO_PASSWORDS["operator"] in demo.output


def test_refuses_a_database_that_already_has_crm_data(demo):
    with pytest.raises(CommandError, match="nightshift flush"):
        call_command("demo", "--size", "small", stdout=io.StringIO())


def test_demo_logins_belong_to_their_role_groups(demo):
    operator = User.objects.get(username="operator")
    archivist = User.objects.get(username="archivist")
    assert operator.check_password(DEMO_PASSWORDS["operator"])
    assert archivist.check_password(DEMO_PASSWORDS["archivist"])
    assert list(operator.groups.values_list("name", flat=True)) == [roles.OPERATORS]
    assert list(archivist.groups.values_list("name", flat=True)) == [roles.ARCHIVISTS]
    assert operator.profile.unit.code == "HQ"


def test_contacts_with_a_birthday_today_and_one_born_on_29_february(demo):
    today = Contact.objects.filter(birth_date__month=TODAY.month, birth_date__day=TODAY.day)
    assert today.exclude(email="").count() >= 5
    assert Contact.objects.filter(birth_date__month=2, birth_date__day=29).exists()


def test_birthday_today_on_29_february_falls_in_a_leap_year():
    rng = random.Random(1)
    leap_day = dt.date(2028, 2, 29)
    assert all(birthday_today(leap_day, rng).year % 4 == 0 for _ in range(50))


def test_rejected_contacts_with_email_and_contacts_without_email(demo):
    assert Contact.objects.filter(status="rejected").exclude(email="").count() >= 4
    assert Contact.objects.filter(email="").count() >= 3


def unsettled(contact_id: int) -> bool:
    return Invoice.objects.filter(
        contact_id=contact_id, state=InvoiceState.POSTED, balance__gt=0
    ).exists()


def test_short_term_subscriptions_ending_today_with_and_without_unsettled_balance(demo):
    ending = Subscription.objects.filter(
        state=SubscriptionState.SHORT_TERM_NOT_EFFECTIVE, short_term_end_date=TODAY
    )
    owing = [unsettled(contact) for contact in ending.values_list("contact_id", flat=True)]
    assert True in owing
    assert False in owing


def test_short_term_subscriptions_ended_in_the_last_week(demo):
    recent = Subscription.objects.filter(
        state=SubscriptionState.SHORT_TERM_NOT_EFFECTIVE,
        short_term_end_date__range=(TODAY - dt.timedelta(days=7), TODAY - dt.timedelta(days=1)),
    )
    owing = {unsettled(contact) for contact in recent.values_list("contact_id", flat=True)}
    assert owing == {True, False}


def test_one_short_term_period_already_ended_by_an_action(demo):
    ended = SubscriptionAction.objects.filter(
        behaviour_code=BehaviourCode.END_SHORT_TERM_DEACTIVATION,
        subscription__state=SubscriptionState.SHORT_TERM_NOT_EFFECTIVE,
    ).select_related("subscription")
    assert ended.count() == 1
    action = ended.get()
    assert action.performed_on >= action.subscription.short_term_start_date


def test_every_subscription_has_exactly_one_effective_billing_term(demo):
    effective = BillingTerm.objects.filter(is_effective=True)
    assert effective.count() == Subscription.objects.count()


def test_overdue_and_settled_invoices(demo):
    posted = Invoice.objects.filter(state=InvoiceState.POSTED, balance__gt=0)
    overdue = [invoice for invoice in posted if invoice.due_on < TODAY]
    assert len(overdue) >= 7
    assert Invoice.objects.filter(state=InvoiceState.SETTLED, balance=0).exists()


def test_nurture_leads_due_today_or_earlier(demo):
    due = Lead.objects.filter(state=LeadState.NURTURE, next_email_date__lte=TODAY)
    assert due.exclude(email="").count() >= 5
    assert due.filter(next_email_date=TODAY).exists()


def test_jobs_more_than_three_hours_late_and_jobs_on_time(demo):
    now = FROZEN
    for model in (Task, Dispatch):
        open_jobs = model.objects.filter(state__in=[JobState.OPEN, JobState.IN_PROGRESS])
        assert open_jobs.filter(due_at__lt=now - dt.timedelta(hours=3)).exists()
        assert open_jobs.filter(due_at__gt=now).exists()


def test_parc_agreements_due_this_week_have_the_visiting_team(demo):
    due = ParcAgreement.objects.filter(
        is_active=True, next_visit_date__range=(TODAY, TODAY + dt.timedelta(days=6))
    )
    assert due.count() >= 4
    assert set(due.values_list("visiting_team__code", flat=True)) == {"PARC"}


@pytest.mark.parametrize("kind", CustomerEventKind.values)
def test_customer_events_older_than_a_year_of_each_kind(demo, kind):
    events = CustomerEvent.objects.filter(kind=kind)
    year_ago = FROZEN - dt.timedelta(days=366)
    assert events.filter(created_at__lt=year_ago, occurred_at__lt=year_ago).exists()
    assert events.filter(occurred_at__gt=FROZEN - dt.timedelta(days=31)).exists()
    assert not events.filter(occurred_at__gt=FROZEN).exists()
