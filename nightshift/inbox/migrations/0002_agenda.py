"""The automatic agenda's default for the inbound e-mail process: every 5 minutes. An
administrator may change it (Scheduler → automatic agenda); this only fills it when unset."""

from django.db import migrations

PROCESS_KEY = "inbox.sync_mailboxes"
# A copy, not an import of nightshift.inbox.processes: a migration must not change with code.
EVERY_FIVE_MINUTES = {
    "mode": "repeat",
    "every": 5,
    "unit": "minutes",
    "start": {"after": {"every": 1, "unit": "minutes"}},
}


def set_agenda(apps, schema_editor):
    AgendaEntry = apps.get_model("runs", "AgendaEntry")
    AgendaEntry.objects.get_or_create(
        process_key=PROCESS_KEY, defaults={"schedule": EVERY_FIVE_MINUTES}
    )


def remove_agenda(apps, schema_editor):
    AgendaEntry = apps.get_model("runs", "AgendaEntry")
    AgendaEntry.objects.filter(process_key=PROCESS_KEY, schedule=EVERY_FIVE_MINUTES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("inbox", "0001_initial"),
        ("runs", "0001_initial"),
    ]

    operations = [migrations.RunPython(set_agenda, remove_agenda)]
