from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    """Dashboard notifications (the notifications process, blocking rules, the "My
    notifications" page) and the PARC agreements process."""

    name = "nightshift.alerts"
    label = "alerts"
    verbose_name = _("Notifications and PARC")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from nightshift.alerts.blocking import stamp_sign_in

        user_logged_in.connect(stamp_sign_in, dispatch_uid="alerts.stamp_sign_in")
