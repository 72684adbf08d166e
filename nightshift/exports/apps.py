from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExportsConfig(AppConfig):
    name = "nightshift.exports"
    label = "exports"
    verbose_name = _("Exports")

    def ready(self) -> None:
        # Every app's exporters are registered before the export process looks one up, as
        # processes are (an app contributes them from an ``exporters`` module).
        from nightshift.exports.registry import autodiscover

        autodiscover()
