from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ArchivingConfig(AppConfig):
    name = "nightshift.archiving"
    label = "archiving"
    verbose_name = _("Data archiving")

    def ready(self) -> None:
        # The built-in archivable entities register themselves on import.
        import nightshift.archiving.entities  # noqa: F401
