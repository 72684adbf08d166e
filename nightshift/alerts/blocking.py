"""Blocking notifications at the door: a user with open blocking notifications may only reach
the page listing them; past their deadline the session that ignored them is ended.

The rules, in the order the middleware applies them to a signed-in user (or an API token's):

1. Requests that stay reachable pass: the notifications page and its actions (and their API
   endpoints), sign-in, sign-out, the language switch, static files and the health check.
2. Without open blocking notifications everything passes (one indexed query per request).
3. An API call is refused with 423 Locked and a JSON body naming the notifications.
4. A browser session opened before a deadline that has now passed is signed out and sent to
   the sign-in page, which leads back to the notifications page. Signing in again is allowed,
   but only to that page (rule 5): the user is "locked in" until attending.
5. Any other page: a GET is redirected to the notifications page with the reason; any other
   request (a form post, an htmx call) is refused with 423 and the reason.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from nightshift.crm.choices import NotificationKind, NotificationState
from nightshift.crm.models import Notification

__all__ = ["BlockingNotificationsMiddleware", "open_blocking", "stamp_sign_in"]

SIGNED_IN_AT = "alerts_signed_in_at"  # session key: when this session signed in (ISO 8601)
SHOWN_IN_REASON = 10  # notifications named in a refusal; the page lists them all
# Routes a blocked user may still reach (namespace:name, or a bare name).
ALWAYS_REACHABLE = {
    "login",
    "logout",
    "set_language",
    "web:healthz",
    "admin:logout",
    "admin:jsi18n",
}
REACHABLE_NAMESPACES = {"alerts"}
# The API's own notification endpoints (their ``url_name``), the API side of the page.
REACHABLE_API_NAMES = {"alerts_my_notifications", "alerts_attend_notification"}
HTTP_LOCKED = 423


@dataclass(frozen=True)
class Blocking:
    pk: int
    title: str
    deadline: datetime.datetime


def open_blocking(user_id: int | None = None, *, owner: Q | None = None) -> list[Blocking]:
    """The open blocking notifications of user ``user_id`` (or of the user ``owner`` selects),
    earliest deadline first: one query."""
    rows = Notification.objects.filter(
        owner if owner is not None else Q(user_id=user_id),
        state=NotificationState.OPEN,
        kind=NotificationKind.BLOCKING,
    )
    rows = rows.order_by("deadline", "pk").values_list("pk", "title", "deadline")
    return [Blocking(*row) for row in rows]


def stamp_sign_in(sender, request: HttpRequest, user, **kwargs) -> None:
    """``user_logged_in`` receiver: remember when this session signed in, so that a deadline
    that passed before it does not sign the user out again (rule 4)."""
    if hasattr(request, "session"):
        request.session[SIGNED_IN_AT] = timezone.now().isoformat()


def reason(blocking: list[Blocking]) -> str:
    names = "; ".join(f"#{b.pk} {b.title}" for b in blocking[:SHOWN_IN_REASON])
    if len(blocking) > SHOWN_IN_REASON:
        names += " …"
    return ngettext(
        "You have %(count)s blocking notification to attend to before using the CRM: %(names)s.",
        "You have %(count)s blocking notifications to attend to before using the CRM: %(names)s.",
        len(blocking),
    ) % {"count": len(blocking), "names": names}


def _route(request: HttpRequest) -> str:
    match = request.resolver_match
    if match is None:
        return ""
    return f"{match.namespace}:{match.url_name}" if match.namespace else (match.url_name or "")


def _is_api(request: HttpRequest) -> bool:
    match = request.resolver_match
    return bool(match and match.namespace.startswith("api-"))


def _reachable(request: HttpRequest) -> bool:
    if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return True
    match = request.resolver_match
    if match is None:
        return True
    if _route(request) in ALWAYS_REACHABLE or match.namespace in REACHABLE_NAMESPACES:
        return True
    return _is_api(request) and match.url_name in REACHABLE_API_NAMES


def _token_owner(request: HttpRequest) -> Q | None:
    """Selects the user of the request's API token when it is usable (active user, token
    neither revoked nor expired), as a condition on the notification's user: the token and the
    notifications are read in one query, without marking the token used. The API's own
    authentication still runs after this, and still refuses a bad token with 401."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    from nightshift.api.models import ApiToken

    # One Q in one filter() call: every condition applies to the same token row.
    return Q(
        user__is_active=True,
        user__api_tokens__secret_hash=ApiToken.hash_secret(secret.strip()),
        user__api_tokens__revoked_at__isnull=True,
    ) & (
        Q(user__api_tokens__expires_at__isnull=True)
        | Q(user__api_tokens__expires_at__gt=timezone.now())
    )


def _signed_in_at(request: HttpRequest) -> datetime.datetime | None:
    value = request.session.get(SIGNED_IN_AT) if hasattr(request, "session") else None
    return parse_datetime(value) if value else None


def notifications_url() -> str:
    return reverse("alerts:notifications")


class BlockingNotificationsMiddleware:
    """Applies the module's rules; placed after the authentication and messages middleware."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if _reachable(request):
            return None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            blocking = open_blocking(user.pk)
        elif _is_api(request) and (owner := _token_owner(request)) is not None:
            blocking = open_blocking(owner=owner)
        else:
            return None
        if not blocking:
            return None
        return self._refuse(request, blocking, from_session=bool(user and user.is_authenticated))

    def _refuse(
        self, request: HttpRequest, blocking: list[Blocking], *, from_session: bool
    ) -> HttpResponse:
        text = reason(blocking)
        if _is_api(request):
            return self._api_refusal(text, blocking)
        now = timezone.now()
        signed_in_at = _signed_in_at(request)
        passed = [b for b in blocking if b.deadline <= now]
        if from_session and any(signed_in_at is None or b.deadline > signed_in_at for b in passed):
            logout(request)
            messages.error(
                request,
                _(
                    "You were signed out: the deadline of a blocking notification passed. Sign "
                    "in to attend to it; until then only the notifications page is available."
                ),
            )
            return redirect(f"{reverse('login')}?{urlencode({'next': notifications_url()})}")
        if request.method == "GET" and not request.headers.get("HX-Request"):
            messages.warning(request, text)
            return redirect(notifications_url())
        return HttpResponse(text, status=HTTP_LOCKED, content_type="text/plain; charset=utf-8")

    @staticmethod
    def _api_refusal(text: str, blocking: list[Blocking]) -> JsonResponse:
        return JsonResponse(
            {
                "detail": text,
                "code": "blocking_notifications",
                "notifications": [
                    {"id": b.pk, "title": b.title, "deadline": b.deadline.isoformat()}
                    for b in blocking
                ],
                "attend_at": notifications_url(),
            },
            status=HTTP_LOCKED,
        )
