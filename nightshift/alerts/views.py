"""The "My notifications" page (reachable while blocked), attending, and the administrators'
view of a user's notifications with the release button."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from nightshift.alerts import actions
from nightshift.alerts.blocking import open_blocking
from nightshift.alerts.forms import NotificationFilterForm
from nightshift.crm.choices import NotificationKind, NotificationState
from nightshift.crm.models import Notification

PAGE_SIZE = 50  # notifications per page
BLOCKED_USERS_SHOWN = 50  # users with open blocking notifications listed for administrators


def _page(request: HttpRequest, rows):
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _blocked_users():
    """Users with open blocking notifications, most first (one query)."""
    return (
        get_user_model()
        .objects.annotate(
            blocking=Count(
                "notifications",
                filter=Q(
                    notifications__kind=NotificationKind.BLOCKING,
                    notifications__state=NotificationState.OPEN,
                ),
            )
        )
        .filter(blocking__gt=0)
        .order_by("-blocking", "username")[:BLOCKED_USERS_SHOWN]
    )


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    form = NotificationFilterForm(request.GET)
    rows = form.filter(Notification.objects.filter(user=request.user)).order_by(
        "-created_at", "-pk"
    )
    can_release = actions.can_release(request.user)
    return render(
        request,
        "alerts/notifications.html",
        {
            "form": form,
            "notifications": _page(request, rows),
            "query": _query_without_page(request),
            "blocking": open_blocking(request.user.pk),
            "blocked_users": _blocked_users() if can_release else None,
        },
    )


def _next_url(request: HttpRequest, default: str) -> str:
    candidate = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}):
        return candidate
    return default


@login_required
@require_POST
def attend(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        notification = actions.attend_notification(user=request.user, notification_id=pk)
    except ObjectDoesNotExist as exc:
        raise Http404(str(exc)) from None
    messages.success(request, _("Attended to: %(title)s") % {"title": notification.title})
    if notification.kind == NotificationKind.BLOCKING and not open_blocking(request.user.pk):
        messages.success(request, _("No blocking notification is left: the CRM is open again."))
    return redirect(_next_url(request, "alerts:notifications"))


@login_required
@require_GET
def user_notifications(request: HttpRequest, user_id: int) -> HttpResponse:
    if not actions.can_release(request.user):
        raise PermissionDenied
    owner = get_object_or_404(get_user_model(), pk=user_id)
    form = NotificationFilterForm(request.GET)
    rows = form.filter(Notification.objects.filter(user=owner)).order_by("-created_at", "-pk")
    return render(
        request,
        "alerts/user_notifications.html",
        {
            "owner": owner,
            "form": form,
            "notifications": _page(request, rows),
            "query": _query_without_page(request),
            "blocking": open_blocking(owner.pk),
        },
    )


@login_required
@require_POST
def release(request: HttpRequest, user_id: int) -> HttpResponse:
    owner = get_object_or_404(get_user_model(), pk=user_id)
    ids = [int(pk) for pk in request.POST.getlist("notification") if pk.isdigit()]
    released = actions.release_notifications(
        user=request.user, user_id=owner.pk, notification_ids=ids or None
    )
    messages.success(
        request,
        ngettext(
            "%(count)s blocking notification of %(user)s released.",
            "%(count)s blocking notifications of %(user)s released.",
            released,
        )
        % {"count": released, "user": owner},
    )
    return redirect("alerts:user_notifications", user_id=owner.pk)
