"""Archives in the admin (read-only: they change through the archive actions), the
organisation's archiving policy (administrators), and the read-only rule on the admin pages of
live records that refer to archived data."""

from __future__ import annotations

import dataclasses

from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.utils.translation import gettext as _

import nightshift.archiving.entities  # noqa: F401 — registered before the admin is wrapped
from nightshift.archiving.models import Archive, ArchiveAuditEntry, ArchivingPolicy
from nightshift.archiving.references import read_only_q
from nightshift.archiving.registry import all_entities


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Archive)
class ArchiveAdmin(_ReadOnlyAdmin):
    list_display = ["pk", "entity", "cutoff", "state", "total_rows", "created_by", "created_at"]
    list_filter = ["entity", "state"]
    search_fields = ["entity", "created_by__username"]
    exclude = ["restore_report"]


@admin.register(ArchiveAuditEntry)
class ArchiveAuditEntryAdmin(_ReadOnlyAdmin):
    list_display = ["at", "user", "action", "archive", "channel", "detail"]
    list_filter = ["action", "channel"]
    search_fields = ["user__username", "detail"]


@admin.register(ArchivingPolicy)
class ArchivingPolicyAdmin(admin.ModelAdmin):
    list_display = ["minimum_months", "changed_by", "changed_at"]
    fields = ["minimum_months"]
    search_fields = ["minimum_months"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not ArchivingPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        from django.utils import timezone

        obj.changed_by, obj.changed_at = request.user, timezone.now()
        super().save_model(request, obj, form, change)


class ReadOnlyReferenceAdmin:
    """Mixed into the admin of a model with ``archived_references``: a record referring to
    archived data opens read-only (with the reason), and bulk actions other than deletion
    refuse a selection holding one."""

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_archive_read_only:
            return False
        return super().has_change_permission(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None and obj.is_archive_read_only:
            self.message_user(request, _read_only_message(obj), messages.WARNING)
        return super().change_view(request, object_id, form_url, extra_context)

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        # Actions run from the list and from a record's page (Django 6) alike.
        actions = super().get_actions(request, action_location=action_location)
        return {
            name: action
            if name == "delete_selected"
            else dataclasses.replace(action, func=_guarded(action.func))
            for name, action in actions.items()
        }


def _read_only_message(obj) -> str:
    refs = ", ".join(
        _("%(field)s %(id)s in archive #%(archive)s")
        % {"field": ref["field"], "id": ref["archived_id"], "archive": ref["archive"]}
        for ref in obj.archived_reference_details()
    )
    return _(
        "This record refers to archived data (%(refs)s) and is read-only: it can be viewed and "
        "deleted but not changed."
    ) % {"refs": refs}


def _guarded(func):
    def action(modeladmin, request, queryset):
        if queryset.filter(read_only_q(queryset.model)).exists():
            modeladmin.message_user(
                request,
                _(
                    "The selection holds records that refer to archived data; they are "
                    "read-only, and only deletion applies to them."
                ),
                messages.ERROR,
            )
            return None
        return func(modeladmin, request, queryset)

    action.__name__ = getattr(func, "__name__", "action")
    return action


def _protect_referrers() -> None:
    """Re-register the admin of every referring model with ``ReadOnlyReferenceAdmin`` mixed in
    (this app's admin module loads after the CRM's)."""
    for model in {r.model_class for entity in all_entities() for r in entity.referrers}:
        current = admin.site._registry.get(model)
        if current is None or isinstance(current, ReadOnlyReferenceAdmin):
            continue
        admin.site.unregister(model)
        admin.site.register(
            model, type(type(current).__name__, (ReadOnlyReferenceAdmin, type(current)), {})
        )


_protect_referrers()
