"""The engine's records in the admin. Application servers are maintained here; everything else
is shown read-only, because its writes go through the actions (versioning, claims, logs) and
definitions are never deleted."""

from __future__ import annotations

from django.contrib import admin

from nightshift.core.admin import AuditedAdmin
from nightshift.runs.models import (
    AgendaEntry,
    ApplicationServer,
    LogEntry,
    ProcessRun,
    RunDefinition,
    RunItem,
    ScheduledTask,
    Worker,
)


@admin.register(ApplicationServer)
class ApplicationServerAdmin(AuditedAdmin):
    list_display = ["name", "description", "is_default"]
    search_fields = ["name", "description"]
    list_filter = ["is_default"]


class ReadOnlyAdmin(admin.ModelAdmin):
    list_per_page = 50
    show_full_result_count = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RunDefinition)
class RunDefinitionAdmin(ReadOnlyAdmin, AuditedAdmin):
    list_display = ["unified_code", "version", "name", "process_key", "life_cycle", "is_latest"]
    list_filter = ["process_key", "life_cycle", "is_latest", "log_level"]
    search_fields = ["unified_code", "name", "alternative_code"]


@admin.register(ScheduledTask)
class ScheduledTaskAdmin(ReadOnlyAdmin, AuditedAdmin):
    list_display = ["pk", "definition", "state", "next_fire_at", "server", "fired_count"]
    list_filter = ["state", "server", "misfire_policy"]
    search_fields = ["definition__name", "definition__unified_code"]


@admin.register(ProcessRun)
class ProcessRunAdmin(ReadOnlyAdmin, AuditedAdmin):
    list_display = ["pk", "definition", "state", "processed", "total", "started_at", "ended_at"]
    list_filter = ["state", "process_key", "server"]
    search_fields = ["=id", "definition__name", "definition__unified_code"]


@admin.register(RunItem)
class RunItemAdmin(ReadOnlyAdmin):
    list_display = ["run", "record_id", "ok", "message"]
    list_filter = ["ok"]
    search_fields = ["=run__id", "=record_id"]


@admin.register(LogEntry)
class LogEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "level", "source", "message"]
    list_filter = ["level", "source"]
    search_fields = ["message"]
    date_hierarchy = "at"


@admin.register(Worker)
class WorkerAdmin(ReadOnlyAdmin):
    list_display = ["worker_id", "server", "hostname", "pid", "last_seen"]
    list_filter = ["server"]
    search_fields = ["worker_id", "hostname"]


@admin.register(AgendaEntry)
class AgendaEntryAdmin(ReadOnlyAdmin, AuditedAdmin):
    list_display = ["process_key", "updated_at"]
    search_fields = ["process_key"]
