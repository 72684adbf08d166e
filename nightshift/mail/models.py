"""E-mail templates, every message sent or received, and the suppression list."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from nightshift.core.models import AuditedModel


class EmailDirection(models.TextChoices):
    OUTBOUND = "outbound", _("Outbound")  # sent by the CRM or by a user's mailbox
    INBOUND = "inbound", _("Inbound")  # received in a connected mailbox


class EmailTemplate(AuditedModel):
    """A reusable e-mail: subject and bodies with {{ placeholders }} filled from a record."""

    code = models.CharField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    language = models.CharField(_("language"), max_length=10, blank=True)
    subject = models.CharField(_("subject"), max_length=200)
    body_text = models.TextField(_("text body"))
    body_html = models.TextField(_("HTML body"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("e-mail template")
        verbose_name_plural = _("e-mail templates")

    def __str__(self) -> str:
        return self.name


class EmailMessage(AuditedModel):
    """One e-mail, stored once by its Message-ID, linked to the contact or lead it concerns."""

    direction = models.CharField(_("direction"), max_length=10, choices=EmailDirection)
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    in_reply_to = models.CharField(_("In-Reply-To"), max_length=255, blank=True)
    thread_key = models.CharField(_("thread"), max_length=255, db_index=True)
    from_address = models.EmailField(_("from"))
    to_addresses = models.TextField(_("to"))
    cc_addresses = models.TextField(_("cc"), blank=True)
    subject = models.CharField(_("subject"), max_length=400, blank=True)
    body_text = models.TextField(_("text body"), blank=True)
    body_html = models.TextField(_("HTML body"), blank=True)
    sent_from_crm = models.BooleanField(_("sent from the CRM"), default=False)
    template = models.ForeignKey(
        EmailTemplate,
        verbose_name=_("template"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
    )
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="email_messages",
    )
    lead = models.ForeignKey(
        "crm.Lead",
        verbose_name=_("lead"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="email_messages",
    )
    mailbox = models.CharField(_("mailbox"), max_length=200, blank=True)
    sent_at = models.DateTimeField(_("date"))

    class Meta:
        ordering = ["-sent_at"]
        verbose_name = _("e-mail message")
        verbose_name_plural = _("e-mail messages")
        indexes = [
            models.Index(fields=["contact", "sent_at"], name="mail_message_contact"),
            models.Index(fields=["lead", "sent_at"], name="mail_message_lead"),
        ]

    def __str__(self) -> str:
        return self.subject or self.message_id


class SuppressionEntry(AuditedModel):
    """An address the CRM must never mail again; checked before every send."""

    email = models.EmailField(_("e-mail"), unique=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="suppressions",
    )

    class Meta:
        ordering = ["email"]
        verbose_name = _("suppression list entry")
        verbose_name_plural = _("suppression list")
        constraints = [
            models.CheckConstraint(
                condition=Q(email=models.functions.Lower("email")),
                name="mail_suppression_lowercase",
                violation_error_message=_("Suppressed addresses are stored in lower case."),
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)
