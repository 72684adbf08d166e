"""The mailbox pages: a filtered list, and the create and edit screens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from nightshift.inbox import actions
from nightshift.inbox.forms import MailboxFilterForm, MailboxForm
from nightshift.inbox.models import Mailbox

PAGE_SIZE = 25  # mailboxes per page


@login_required
@permission_required(actions.VIEW, raise_exception=True)
def mailbox_list(request: HttpRequest) -> HttpResponse:
    form = MailboxFilterForm(request.GET)
    mailboxes = Mailbox.objects.order_by("name")
    if form.is_valid():
        data = form.cleaned_data
        if text := data["q"].strip():
            mailboxes = mailboxes.filter(
                Q(name__icontains=text) | Q(host__icontains=text) | Q(username__icontains=text)
            )
        status = data["status"]
        if status == "active":
            mailboxes = mailboxes.filter(is_active=True)
        elif status == "inactive":
            mailboxes = mailboxes.filter(is_active=False)
        elif status == "error":
            mailboxes = mailboxes.exclude(last_error="")
        if data["auth_method"]:
            mailboxes = mailboxes.filter(auth_method=data["auth_method"])
        if data["security"]:
            mailboxes = mailboxes.filter(security=data["security"])
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "inbox/mailbox_list.html",
        {
            "form": form,
            "mailboxes": Paginator(mailboxes, PAGE_SIZE).get_page(request.GET.get("page")),
            "query": query.urlencode(),
            "can_add": request.user.has_perm(actions.ADD),
            "can_change": request.user.has_perm(actions.CHANGE),
        },
    )


def _save(request: HttpRequest, form: MailboxForm, mailbox: Mailbox | None) -> HttpResponse:
    if form.is_valid():
        fields = {name: form.cleaned_data[name] for name in actions.EDITABLE_FIELDS}
        try:
            if mailbox is None:
                saved = actions.create_mailbox(user=request.user, **fields)
                messages.success(request, _("Mailbox “%(name)s” created.") % {"name": saved})
            else:
                saved = actions.edit_mailbox(user=request.user, pk=mailbox.pk, **fields)
                messages.success(request, _("Mailbox “%(name)s” saved.") % {"name": saved})
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            return redirect("inbox:mailboxes")
    return render(request, "inbox/mailbox_form.html", {"form": form, "mailbox": mailbox})


@login_required
@permission_required(actions.ADD, raise_exception=True)
@require_http_methods(["GET", "POST"])
def mailbox_create(request: HttpRequest) -> HttpResponse:
    form = MailboxForm(request.POST or None)
    if request.method == "POST":
        return _save(request, form, None)
    return render(request, "inbox/mailbox_form.html", {"form": form, "mailbox": None})


@login_required
@permission_required(actions.CHANGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def mailbox_edit(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = get_object_or_404(Mailbox, pk=pk)
    form = MailboxForm(request.POST or None, instance=mailbox)
    if request.method == "POST":
        return _save(request, form, mailbox)
    return render(request, "inbox/mailbox_form.html", {"form": form, "mailbox": mailbox})
