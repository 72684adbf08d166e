from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProcessesConfig(AppConfig):
    name = "nightshift.processes"
    label = "processes"
    verbose_name = _("Processes")

    def ready(self) -> None:
        # Every app's processes are registered before the first request, command or worker
        # task looks one up, as the admin finds admin.py modules.
        from nightshift.processes.registry import autodiscover

        autodiscover()
