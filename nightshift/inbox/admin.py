from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from nightshift.core.admin import AuditedAdmin
from nightshift.inbox.models import Mailbox, MailboxFolder


class MailboxAdminForm(forms.ModelForm):
    """The secret is write-only here too: never rendered, kept when left empty."""

    secret = forms.CharField(
        label=_("Password or token"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Not shown. Leave empty to keep the stored one."),
    )

    class Meta:
        model = Mailbox
        fields = "__all__"  # noqa: DJ007 — the admin edits every field of the mailbox

    def clean_secret(self) -> str:
        return self.cleaned_data["secret"] or (self.instance.secret if self.instance.pk else "")


class MailboxFolderInline(admin.TabularInline):
    model = MailboxFolder
    extra = 0
    can_delete = True  # deleting a folder's state makes the next sync read it from the start
    readonly_fields = ["name", "uid_validity", "last_uid", "synced_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Mailbox)
class MailboxAdmin(AuditedAdmin):
    form = MailboxAdminForm
    list_display = [
        "name",
        "host",
        "port",
        "username",
        "auth_method",
        "is_active",
        "last_synced_at",
    ]
    list_filter = ["is_active", "auth_method", "security"]
    search_fields = ["name", "host", "username", "email_address"]
    readonly_fields = ["last_synced_at", "last_error"]
    inlines = [MailboxFolderInline]
