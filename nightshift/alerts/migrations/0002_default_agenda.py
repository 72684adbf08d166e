"""The automatic agenda's default schedules of the two processes: notifications every day at
06:00, PARC agreements every Monday at 05:00 (organization time zone). Administrators change
them on the Scheduler's agenda page; an entry they already set is left alone."""

from django.db import migrations

DEFAULTS = {
    "alerts.notifications": {"mode": "cron", "expression": "0 6 * * *"},
    "alerts.parc_agreements": {"mode": "cron", "expression": "0 5 * * 1"},
}


def add_defaults(apps, schema_editor):
    AgendaEntry = apps.get_model("runs", "AgendaEntry")
    for process_key, schedule in DEFAULTS.items():
        AgendaEntry.objects.get_or_create(process_key=process_key, defaults={"schedule": schedule})


def remove_defaults(apps, schema_editor):
    AgendaEntry = apps.get_model("runs", "AgendaEntry")
    for process_key, schedule in DEFAULTS.items():
        AgendaEntry.objects.filter(process_key=process_key, schedule=schedule).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0001_initial"),
        ("runs", "0001_initial"),
    ]

    operations = [migrations.RunPython(add_defaults, remove_defaults)]
