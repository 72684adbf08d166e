from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop


class MailConfig(AppConfig):
    name = "nightshift.mail"
    label = "mail"
    verbose_name = _("Mail")

    def ready(self) -> None:
        from nightshift.mail import errorlog

        errorlog.install()


# The Mail area of the Utilities menu (nightshift/web/areas.py) is this app's: its texts are
# marked here too so that this app's catalogue carries their translation.
AREA_TEXTS = (
    gettext_noop("Mail"),
    gettext_noop(
        "Keeps the e-mail templates the processes send, with a preview on a real contact, "
        "and the suppression list of addresses that are never mailed."
    ),
)
