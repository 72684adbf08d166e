from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "nightshift.core"
    label = "core"
    verbose_name = _("Organization")

    def ready(self) -> None:
        import nightshift.core.bulk  # noqa: F401 — registers the in_array lookup
        from nightshift.core.roles import sync_role_groups

        post_migrate.connect(sync_role_groups, dispatch_uid="nightshift.core.sync_role_groups")
