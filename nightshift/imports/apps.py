from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "nightshift.imports"
    label = "imports"
    verbose_name = _("Data imports")

    def ready(self) -> None:
        # Every app's importers are registered before a request, command or worker looks one
        # up, as processes are (an app or an installed package adds an ``importers`` module).
        from nightshift.imports.registry import autodiscover

        autodiscover()
