from __future__ import annotations

from django.contrib import admin

from nightshift.core.admin import AuditedAdmin
from nightshift.mail.models import EmailMessage, EmailTemplate, SuppressionEntry


@admin.register(EmailTemplate)
class EmailTemplateAdmin(AuditedAdmin):
    list_display = ["code", "name", "language", "subject", "is_active"]
    list_filter = ["is_active", "language"]
    search_fields = ["code", "name", "subject"]


@admin.register(EmailMessage)
class EmailMessageAdmin(AuditedAdmin):
    list_display = [
        "subject",
        "direction",
        "from_address",
        "to_addresses",
        "sent_from_crm",
        "sent_at",
    ]
    list_filter = ["direction", "sent_from_crm"]
    search_fields = ["subject", "from_address", "to_addresses", "message_id"]
    raw_id_fields = ["contact", "lead", "template"]
    date_hierarchy = "sent_at"


@admin.register(SuppressionEntry)
class SuppressionEntryAdmin(AuditedAdmin):
    list_display = ["email", "reason", "contact", "created_at"]
    search_fields = ["email", "reason"]
    raw_id_fields = ["contact"]
