"""The class transition rules screen's forms: the filters of the list and the rule form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from nightshift.crm.choices import ClassTransitionTrigger
from nightshift.crm.models import ClassTransitionRule, CustomerClass
from nightshift.erp.actions import RULE_FIELDS


class RuleFilterForm(forms.Form):
    q = forms.CharField(label=_("Name"), required=False)
    from_class = forms.ModelChoiceField(
        label=_("From class"), queryset=CustomerClass.objects.all(), required=False
    )
    to_class = forms.ModelChoiceField(
        label=_("To class"), queryset=CustomerClass.objects.all(), required=False
    )
    trigger = forms.ChoiceField(
        label=_("Trigger"),
        choices=[("", _("Any")), *list(ClassTransitionTrigger.choices)],
        required=False,
    )
    active = forms.ChoiceField(
        label=_("Active"),
        choices=[("", _("Any")), ("yes", _("Yes")), ("no", _("No"))],
        required=False,
    )


class RuleForm(forms.ModelForm):
    """The fields of a rule; the model's constraints are checked by the action, which reports
    them on the field at fault."""

    class Meta:
        model = ClassTransitionRule
        fields = RULE_FIELDS
        help_texts = {
            "amount": _("For “accumulated purchases at least”: the amount to reach."),
            "months": _(
                "Accumulated purchases: the window they are summed over. No purchase: how long "
                "without one."
            ),
        }

    def _post_clean(self) -> None:
        # The action validates the whole rule (constraints across fields included) once.
        return
