"""The mailbox screens' forms: the filters of the list and the mailbox itself."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from nightshift.inbox.actions import EDITABLE_FIELDS
from nightshift.inbox.choices import AuthMethod, Security, TokenSource
from nightshift.inbox.models import Mailbox

__all__ = ["MailboxFilterForm", "MailboxForm"]


class MailboxFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, help_text=_("Name, host or user."))
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", _("All")),
            ("active", _("Active")),
            ("inactive", _("Not active")),
            ("error", _("Last sync failed")),
        ],
    )
    auth_method = forms.ChoiceField(
        label=_("Authentication"), required=False, choices=[("", _("All")), *AuthMethod.choices]
    )
    security = forms.ChoiceField(
        label=_("Connection security"),
        required=False,
        choices=[("", _("All")), *Security.choices],
    )


class MailboxForm(forms.ModelForm):
    """The mailbox's settings. The secret is never rendered back; left empty on an existing
    mailbox it keeps the stored one (``edit_mailbox`` ignores an empty secret)."""

    secret = forms.CharField(
        label=_("Password or token"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = Mailbox
        fields = EDITABLE_FIELDS

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["token_source"].required = False
        if self.instance.pk and self.instance.secret:
            self.fields["secret"].help_text = _(
                "A secret is stored and is not shown. Leave empty to keep it; type a new one "
                "to replace it."
            )
        else:
            self.fields["secret"].help_text = _(
                "The password or app token; for OAuth2 stored with the mailbox, the access token."
            )

    def clean_token_source(self) -> str:
        # Only meaningful for OAuth2; a form that leaves it out means "stored".
        return self.cleaned_data.get("token_source") or TokenSource.STORED

    def _post_clean(self) -> None:
        # Model validation (and the secret rule) run in the action, which reports by field.
        return
