"""``nightshift seed_agenda``: give the built-in processes their default cadence in the
automatic agenda (entries already there are left as they are). Safe to repeat."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from nightshift.mail.agenda import seed_default_agenda


class Command(BaseCommand):
    help = (
        "Add the default automatic agenda entry of every process that declares one and has "
        "none yet (entries set by an administrator are kept)."
    )

    def handle(self, *args: object, **options: object) -> None:
        created = seed_default_agenda()
        if created:
            self.stdout.write("Automatic agenda: added " + ", ".join(created) + ".")
        else:
            self.stdout.write("Automatic agenda: nothing to add.")
