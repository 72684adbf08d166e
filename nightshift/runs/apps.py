from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RunsConfig(AppConfig):
    name = "nightshift.runs"
    label = "runs"
    verbose_name = _("Runs and scheduler")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from nightshift.runs.models import ensure_defaults

        post_migrate.connect(ensure_defaults, sender=self)
