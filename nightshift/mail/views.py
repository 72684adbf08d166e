"""The mail pages: e-mail templates (list, create, edit, preview), the suppression list
(list, add, remove) and the nurture sequences (list, create, edit with their steps). Thin
views: parse with ``forms``, call one action, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from nightshift.mail import actions
from nightshift.mail.forms import (
    PreviewForm,
    SequenceForm,
    StepFormSet,
    SuppressionFilterForm,
    SuppressionForm,
    TemplateFilterForm,
    TemplateForm,
)
from nightshift.mail.models import EmailTemplate, NurtureSequence, SuppressionEntry
from nightshift.mail.rendering import CONTACT_PLACEHOLDERS
from nightshift.runs.forms import add_action_errors

PAGE_SIZE = 50  # rows per page of both lists


def _page(request: HttpRequest, rows):
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
@permission_required("mail.view_emailtemplate", raise_exception=True)
@require_GET
def template_list(request: HttpRequest) -> HttpResponse:
    form = TemplateFilterForm(request.GET)
    templates = EmailTemplate.objects.all()
    if form.is_valid():
        data = form.cleaned_data
        if text := data["q"].strip():
            templates = templates.filter(
                Q(code__icontains=text) | Q(name__icontains=text) | Q(subject__icontains=text)
            )
        if data["language"].strip():
            templates = templates.filter(language__iexact=data["language"].strip())
        if data["active"]:
            templates = templates.filter(is_active=data["active"] == "yes")
    return render(
        request,
        "mail/template_list.html",
        {
            "form": form,
            "templates": _page(request, templates.order_by("name", "pk")),
            "query": _query_without_page(request),
            "can_add": request.user.has_perm("mail.add_emailtemplate"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    template = get_object_or_404(EmailTemplate, pk=pk) if pk else None
    permission = "mail.change_emailtemplate" if template else "mail.add_emailtemplate"
    if not request.user.has_perm(permission):
        raise PermissionDenied
    form = TemplateForm(request.POST or None, instance=template)
    if request.method == "POST" and form.is_valid():
        try:
            saved = actions.save_template(
                user=request.user,
                template_id=template.pk if template else None,
                **{field: form.cleaned_data[field] for field in TemplateForm.Meta.fields},
            )
        except ValidationError as error:
            add_action_errors(form, error)
        else:
            messages.success(request, _("Template “%(name)s” saved.") % {"name": saved.name})
            return redirect("mail:template_preview", pk=saved.pk)
    return render(
        request,
        "mail/template_form.html",
        {
            "form": form,
            "template": template,
            "placeholders": CONTACT_PLACEHOLDERS,
            "syntax_help": _(
                "Tags such as {%% if %%} and filters such as %(filter)s work as in Django "
                "templates; loading other templates or tag libraries does not."
            )
            % {"filter": '|date:"d/m/Y"'},
        },
    )


@login_required
@permission_required("mail.view_emailtemplate", raise_exception=True)
@require_GET
def template_preview(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(EmailTemplate, pk=pk)
    form = PreviewForm(request.GET)
    rendered = context = None
    if form.is_valid():
        try:
            rendered, context = actions.preview_template(
                template, contact_code=form.cleaned_data["contact"].strip()
            )
        except ValidationError as error:
            add_action_errors(form, error)
    return render(
        request,
        "mail/template_preview.html",
        {
            "template": template,
            "form": form,
            "rendered": rendered,
            "context": context,
            "unknown": actions.unknown_placeholders(template, CONTACT_PLACEHOLDERS),
            "can_change": request.user.has_perm("mail.change_emailtemplate"),
        },
    )


@login_required
@permission_required("mail.view_suppressionentry", raise_exception=True)
@require_GET
def suppression_list(request: HttpRequest) -> HttpResponse:
    return _suppression_page(request, SuppressionForm())


def _suppression_page(request: HttpRequest, add_form: SuppressionForm, status: int = 200):
    form = SuppressionFilterForm(request.GET)
    entries = SuppressionEntry.objects.select_related("contact")
    if form.is_valid():
        data = form.cleaned_data
        if text := data["q"].strip():
            entries = entries.filter(Q(email__icontains=text) | Q(reason__icontains=text))
        if data["linked"]:
            entries = entries.filter(contact__isnull=data["linked"] == "no")
    return render(
        request,
        "mail/suppression_list.html",
        {
            "form": form,
            "add_form": add_form,
            "entries": _page(request, entries.order_by("email")),
            "query": _query_without_page(request),
            "can_add": request.user.has_perm("mail.add_suppressionentry"),
            "can_remove": request.user.has_perm("mail.delete_suppressionentry"),
        },
        status=status,
    )


@login_required
@require_POST
def suppression_add(request: HttpRequest) -> HttpResponse:
    form = SuppressionForm(request.POST)
    if form.is_valid():
        try:
            entry = actions.add_suppression(
                user=request.user,
                email=form.cleaned_data["email"],
                reason=form.cleaned_data["reason"],
                contact_code=form.cleaned_data["contact"].strip(),
            )
        except ValidationError as error:
            add_action_errors(form, error)
        else:
            messages.success(
                request, _("%(address)s added to the suppression list.") % {"address": entry.email}
            )
            return redirect("mail:suppressions")
    return _suppression_page(request, form, status=400)


@login_required
@require_POST
def suppression_remove(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        entry = actions.remove_suppression(user=request.user, entry_id=pk)
    except ObjectDoesNotExist as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("%(address)s removed from the suppression list; it may be mailed again.")
            % {"address": entry.email},
        )
    return redirect("mail:suppressions")


@login_required
@permission_required("mail.view_nurturesequence", raise_exception=True)
@require_GET
def sequence_list(request: HttpRequest) -> HttpResponse:
    sequences = NurtureSequence.objects.annotate(step_count=Count("steps")).order_by("code")
    return render(
        request,
        "mail/sequence_list.html",
        {
            "sequences": _page(request, sequences),
            "query": _query_without_page(request),
            "can_add": request.user.has_perm("mail.add_nurturesequence"),
            "can_change": request.user.has_perm("mail.change_nurturesequence"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def sequence_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    sequence = get_object_or_404(NurtureSequence, pk=pk) if pk else None
    permission = "mail.change_nurturesequence" if sequence else "mail.add_nurturesequence"
    if not request.user.has_perm(permission):
        raise PermissionDenied
    initial = (
        [
            {"delay_days": step.delay_days, "template": step.template}
            for step in sequence.steps.select_related("template")
        ]
        if sequence
        else [{"delay_days": 0}]
    )
    form = SequenceForm(request.POST or None, instance=sequence)
    steps = StepFormSet(request.POST or None, initial=initial, prefix="steps")
    steps_errors: list[str] = []
    if request.method == "POST" and form.is_valid() and steps.is_valid():
        rows = [
            (row["delay_days"] or 0, row["template"].code)
            for row in steps.cleaned_data
            if row.get("template")
        ]
        try:
            saved = actions.save_sequence(
                user=request.user,
                sequence_id=sequence.pk if sequence else None,
                steps=rows,
                **{field: form.cleaned_data[field] for field in SequenceForm.Meta.fields},
            )
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                details = error.message_dict
                steps_errors = details.pop("steps", [])
                if details:
                    add_action_errors(form, ValidationError(details))
            else:
                add_action_errors(form, error)
        else:
            messages.success(request, _("Sequence “%(name)s” saved.") % {"name": saved.name})
            return redirect("mail:sequences")
    return render(
        request,
        "mail/sequence_form.html",
        {"form": form, "steps": steps, "steps_errors": steps_errors, "sequence": sequence},
        status=400 if request.method == "POST" else 200,
    )
