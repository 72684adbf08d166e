"""The Notification admin gains the release action (the crm app registers the model; this
app re-registers it with the same columns plus the action), and the PARC records read-only."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from nightshift.alerts import actions
from nightshift.alerts.models import ParcSummary, ParcVisit
from nightshift.core.admin import AuditedAdmin
from nightshift.crm.models import Notification

_crm_notification_admin = admin.site._registry.get(Notification)
_Base = type(_crm_notification_admin) if _crm_notification_admin else AuditedAdmin
if _crm_notification_admin is not None:
    admin.site.unregister(Notification)


@admin.register(Notification)
class NotificationAdmin(_Base):
    actions = ["release_selected"]

    @admin.action(description=_("Release the selected blocking notifications"))
    def release_selected(self, request, queryset):
        if not actions.can_release(request.user):
            self.message_user(
                request,
                _("Only an administrator can release blocking notifications."),
                messages.ERROR,
            )
            return
        released = actions.release_notifications(
            user=request.user, notification_ids=list(queryset.values_list("pk", flat=True))
        )
        self.message_user(
            request,
            ngettext(
                "%(count)s blocking notification released.",
                "%(count)s blocking notifications released.",
                released,
            )
            % {"count": released},
        )


@admin.register(ParcVisit)
class ParcVisitAdmin(AuditedAdmin):
    list_display = ["agreement", "due_date", "planned_for", "run_number", "account_manager"]
    list_filter = ["due_date"]
    search_fields = ["agreement__code"]
    raw_id_fields = [
        "agreement",
        "account_manager",
        "opportunity",
        "inspection_task",
        "follow_up_task",
        "follow_up_action",
        "dispatch",
        "summary",
    ]


@admin.register(ParcSummary)
class ParcSummaryAdmin(AuditedAdmin):
    list_display = ["run_number", "account_manager", "state", "email", "sent_at"]
    list_filter = ["state"]
    raw_id_fields = ["account_manager"]
