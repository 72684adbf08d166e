"""Forms of the mail pages: they parse input; the actions validate and write."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from nightshift.mail.models import EmailTemplate, NurtureSequence


class TemplateFilterForm(forms.Form):
    q = forms.CharField(label=_("Code, name or subject"), required=False)
    language = forms.CharField(label=_("Language"), required=False)
    active = forms.ChoiceField(
        label=_("Active"),
        required=False,
        choices=[("", _("Any")), ("yes", _("Active")), ("no", _("Not active"))],
    )


class TemplateForm(forms.ModelForm):
    class Meta:
        model = EmailTemplate
        fields = ["code", "name", "language", "subject", "body_text", "body_html", "is_active"]
        widgets = {
            "body_text": forms.Textarea(attrs={"rows": 10}),
            "body_html": forms.Textarea(attrs={"rows": 10}),
        }
        help_texts = {
            "subject": _("Placeholders such as {{ first_name }} are filled from the record."),
            "body_html": _("Optional; sent as the HTML alternative of the text body."),
        }

    def _post_clean(self) -> None:
        # Validation (uniqueness, placeholders) is the action's; the form only parses.
        return


class PreviewForm(forms.Form):
    contact = forms.CharField(
        label=_("Contact code"),
        required=False,
        help_text=_("Empty: the first contact with an e-mail address, or a sample contact."),
    )


class SuppressionFilterForm(forms.Form):
    q = forms.CharField(label=_("Address or reason"), required=False)
    linked = forms.ChoiceField(
        label=_("Contact"),
        required=False,
        choices=[("", _("Any")), ("yes", _("Linked to a contact")), ("no", _("No contact"))],
    )


class SuppressionForm(forms.Form):
    email = forms.CharField(label=_("E-mail address"), max_length=254)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)
    contact = forms.CharField(label=_("Contact code"), max_length=40, required=False)


class SequenceForm(forms.ModelForm):
    class Meta:
        model = NurtureSequence
        fields = ["code", "name", "active", "close_after_days"]

    def _post_clean(self) -> None:
        # Validation (uniqueness) is the action's; the form only parses.
        return


class StepForm(forms.Form):
    """One row of a sequence's steps; a row without a template is left out."""

    delay_days = forms.IntegerField(
        label=_("Days after the previous e-mail"), min_value=0, max_value=365, required=False
    )
    template = forms.ModelChoiceField(
        label=_("E-mail template"),
        queryset=EmailTemplate.objects.filter(is_active=True).order_by("code"),
        to_field_name="code",
        required=False,
    )


StepFormSet = forms.formset_factory(StepForm, extra=2, max_num=50, validate_max=True)
