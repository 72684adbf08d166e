from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from nightshift.core.models import Team, Unit, UserProfile

AUDIT_FIELDS = (
    "created_by",
    "created_by_unit",
    "created_at",
    "updated_by",
    "updated_by_unit",
    "updated_at",
)


class AuditedAdmin(admin.ModelAdmin):
    """Shows the manuals' "Log information" read-only at the foot of every record."""

    list_per_page = 50
    show_full_result_count = False  # a COUNT(*) over millions of events on every page is waste

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), *AUDIT_FIELDS)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if self.fieldsets:
            return fieldsets
        main = [f for f in fieldsets[0][1]["fields"] if f not in AUDIT_FIELDS]
        return [
            (None, {"fields": main}),
            (_("Log information"), {"fields": AUDIT_FIELDS, "classes": ["collapse"]}),
        ]


@admin.register(Unit)
class UnitAdmin(AuditedAdmin):
    list_display = ["code", "name", "parent"]
    search_fields = ["code", "name"]


@admin.register(Team)
class TeamAdmin(AuditedAdmin):
    list_display = ["code", "name", "unit", "leader"]
    list_filter = ["unit"]
    search_fields = ["code", "name"]
    filter_horizontal = ["members"]


@admin.register(UserProfile)
class UserProfileAdmin(AuditedAdmin):
    list_display = ["user", "unit", "phone"]
    list_filter = ["unit"]
    search_fields = ["user__username", "user__email"]
