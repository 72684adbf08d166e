from __future__ import annotations

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from nightshift.crm.choices import NotificationKind, NotificationState


class NotificationFilterForm(forms.Form):
    """Filters of a notifications list; without a state, the open ones are shown."""

    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Any")), *NotificationKind.choices]
    )
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("Any")), *NotificationState.choices],
    )

    def __init__(self, data=None, **kwargs) -> None:
        if data is not None and "state" not in data:
            data = data.copy()
            data["state"] = NotificationState.OPEN
        super().__init__(data, **kwargs)

    def filter(self, notifications: QuerySet) -> QuerySet:
        if not self.is_valid():
            return notifications.filter(state=NotificationState.OPEN)
        if self.cleaned_data["kind"]:
            notifications = notifications.filter(kind=self.cleaned_data["kind"])
        if self.cleaned_data["state"]:
            notifications = notifications.filter(state=self.cleaned_data["state"])
        return notifications
