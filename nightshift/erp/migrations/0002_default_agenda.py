"""The automatic agenda's default cadence of the four account routines, written once: an
administrator who changes or removes an entry afterwards keeps the change."""

from django.db import migrations

from nightshift.erp.agenda import DEFAULT_AGENDA


def add_default_agenda(apps, schema_editor):
    from nightshift.scheduling.specs import parse_schedule

    AgendaEntry = apps.get_model("runs", "AgendaEntry")
    for process_key, schedule in DEFAULT_AGENDA.items():
        AgendaEntry.objects.get_or_create(
            process_key=process_key,
            defaults={"schedule": parse_schedule(schedule).model_dump(mode="json")},
        )


def remove_default_agenda(apps, schema_editor):
    AgendaEntry = apps.get_model("runs", "AgendaEntry")
    AgendaEntry.objects.filter(process_key__in=list(DEFAULT_AGENDA)).delete()


class Migration(migrations.Migration):
    dependencies = [("erp", "0001_initial"), ("runs", "0001_initial")]

    operations = [migrations.RunPython(add_default_agenda, remove_default_agenda)]
