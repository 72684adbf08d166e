from __future__ import annotations

from django.contrib import admin

from nightshift.core.admin import AuditedAdmin
from nightshift.mail.models import (
    EmailMessage,
    EmailTemplate,
    JobAlert,
    LoggedError,
    NurtureSequence,
    NurtureStep,
    SuppressionEntry,
)


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


@admin.register(LoggedError)
class LoggedErrorAdmin(admin.ModelAdmin):
    list_display = ["logged_at", "level", "logger_name", "message", "host"]
    list_filter = ["level", "logger_name"]
    search_fields = ["message", "logger_name", "traceback"]
    date_hierarchy = "logged_at"


@admin.register(JobAlert)
class JobAlertAdmin(admin.ModelAdmin):
    list_display = ["job_kind", "job_id", "level", "hours_late", "alerted_at", "recipients"]
    list_filter = ["job_kind", "level"]
    search_fields = ["recipients"]


class NurtureStepInline(admin.TabularInline):
    model = NurtureStep
    extra = 1
    fields = ["position", "delay_days", "template"]
    ordering = ["position"]


@admin.register(NurtureSequence)
class NurtureSequenceAdmin(AuditedAdmin):
    list_display = ["code", "name", "active", "close_after_days"]
    list_filter = ["active"]
    search_fields = ["code", "name"]
    inlines = [NurtureStepInline]


@admin.register(NurtureStep)
class NurtureStepAdmin(AuditedAdmin):
    list_display = ["sequence", "position", "delay_days", "template"]
    list_filter = ["sequence", "template"]
    search_fields = ["sequence__code", "template__code"]
