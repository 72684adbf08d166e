from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    name = "nightshift.mail"
    label = "mail"
    verbose_name = _("Mail")

    def ready(self) -> None:
        from nightshift.mail import errorlog
        from nightshift.mail.agenda import seed_default_agenda

        errorlog.install()
        post_migrate.connect(seed_default_agenda, sender=self)
