"""Both processes on the small demo data set (``nightshift demo``), whose scenario holds
reminders for tomorrow, late tasks and PARC agreements due this week."""

from __future__ import annotations

import datetime

import time_machine
from django.test import override_settings
from django.utils import timezone

from nightshift.alerts.models import ParcVisit
from nightshift.alerts.processes import NotificationsProcess, ParcAgreementsProcess
from nightshift.crm.choices import NotificationKind
from nightshift.crm.demo import generate_demo
from nightshift.crm.demo.generator import Scenario
from nightshift.crm.models import Notification, ParcAgreement
from nightshift.runs.models import RunState

NOW = datetime.datetime(2026, 11, 23, 5, 0, tzinfo=datetime.UTC)  # a Monday, before 06:00


def test_both_processes_on_the_demo_data(
    run_process, mailoutbox, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOW, tick=False):
        with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
            generate_demo(size="small", seed=42)
        today = timezone.localdate()
        due_this_week = set(
            ParcAgreement.objects.filter(
                is_active=True, next_visit_date__lte=today + datetime.timedelta(days=6)
            ).values_list("pk", flat=True)
        )
        before = Notification.objects.count()

        with django_capture_on_commit_callbacks(execute=True):
            notifications = run_process(NotificationsProcess.key, {}, batch_size=500)
            parc = run_process(ParcAgreementsProcess.key, {}, batch_size=500)

    assert notifications.state == RunState.COMPLETED, notifications.message
    created = Notification.objects.exclude(subject_key__startswith="run:").count() - before
    assert created == notifications.succeeded > 0
    keys = set(Notification.objects.values_list("subject_key", flat=True))
    # The scenario's reminders for tomorrow, one per source.
    for record in ("opportunity", "event", "action", "invoice"):
        reminded = [key for key in keys if key.startswith(f"{record}:") and ":reminder:" in key]
        assert len(reminded) >= Scenario.REMINDERS_TOMORROW, record
    blocking = Notification.objects.filter(kind=NotificationKind.BLOCKING)
    assert blocking.filter(subject_key__endswith=":overdue").exists()  # late tasks 3 and 4
    assert blocking.filter(subject_key__endswith=":past_close").exists()

    assert parc.state == RunState.COMPLETED, parc.message
    assert len(due_this_week) >= Scenario.PARC_DUE_THIS_WEEK + 1  # and the one missed
    assert set(ParcVisit.objects.values_list("agreement_id", flat=True)) == due_this_week
    managers = set(
        ParcVisit.objects.exclude(account_manager=None).values_list(
            "account_manager__email", flat=True
        )
    )
    assert sorted(mail.to[0] for mail in mailoutbox) == sorted(managers)
