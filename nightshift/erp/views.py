"""The class transition rules screen ("Manutenção Transição de Classe"): list with filters,
create, edit. The class transition routine moves contacts by these rules."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from nightshift.crm.models import ClassTransitionRule
from nightshift.erp import actions
from nightshift.erp.forms import RuleFilterForm, RuleForm

PAGE_SIZE = 50


@login_required
@permission_required("crm.view_classtransitionrule", raise_exception=True)
def rule_list(request: HttpRequest) -> HttpResponse:
    form = RuleFilterForm(request.GET)
    rules = ClassTransitionRule.objects.select_related("from_class", "to_class")
    if form.is_valid():
        data = form.cleaned_data
        if text := data["q"].strip():
            rules = rules.filter(Q(name__icontains=text))
        for name in ("from_class", "to_class"):
            if data[name]:
                rules = rules.filter(**{name: data[name]})
        if data["trigger"]:
            rules = rules.filter(trigger=data["trigger"])
        if data["active"]:
            rules = rules.filter(is_active=data["active"] == "yes")
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "erp/rule_list.html",
        {
            "form": form,
            "rules": Paginator(rules, PAGE_SIZE).get_page(request.GET.get("page")),
            "query": query.urlencode(),
            "can_add": request.user.has_perm(actions.ADD_RULE),
            "can_change": request.user.has_perm(actions.CHANGE_RULE),
        },
    )


@login_required
def rule_create(request: HttpRequest) -> HttpResponse:
    return _rule_form(request, None)


@login_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _rule_form(request, get_object_or_404(ClassTransitionRule, pk=pk))


def _rule_form(request: HttpRequest, rule: ClassTransitionRule | None) -> HttpResponse:
    if not request.user.has_perm(actions.CHANGE_RULE if rule else actions.ADD_RULE):
        raise PermissionDenied
    form = RuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        try:
            saved = actions.save_transition_rule(
                user=request.user, rule=rule, **{name: form.cleaned_data[name] for name in
                                                 actions.RULE_FIELDS}
            )  # fmt: skip
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Rule “%(name)s” saved.") % {"name": saved.name})
            return redirect("erp:rules")
    return render(request, "erp/rule_form.html", {"form": form, "rule": rule})
