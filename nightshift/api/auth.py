"""Who is calling the API: a personal token (``Authorization: Bearer …``) or the browser session.

Every refusal is a 401 with a JSON ``detail`` naming the problem. The API never redirects to the
login page: a script would follow the redirect and parse HTML.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer, django_auth

from nightshift.api.models import ApiToken, ApiTokenStatus
from nightshift.core.audit import acting_as

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest, HttpResponse
    from ninja import NinjaAPI


class CredentialsRejected(AuthenticationError):
    """Credentials were sent but are not good; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(status_code=401, message=message)


class ApiTokenAuth(HttpBearer):
    """Personal API tokens. A rejected token ends authentication: a caller that sent a token
    means to use it, so falling back to a session cookie would hide the problem."""

    def __call__(self, request: HttpRequest) -> AbstractBaseUser | None:
        header = request.headers.get(self.header)
        if not header:
            return None  # no token: let the session have its turn
        scheme, _sep, credentials = header.partition(" ")
        if scheme.lower() != self.openapi_scheme or not credentials.strip():
            raise CredentialsRejected(_("The Authorization header must read “Bearer <token>”."))
        return self.authenticate(request, credentials.strip())

    def authenticate(self, request: HttpRequest, token: str) -> AbstractBaseUser:
        found = (
            ApiToken.objects.select_related("user")
            .filter(secret_hash=ApiToken.hash_secret(token))
            .first()
        )
        if found is None:
            raise CredentialsRejected(_("Invalid API token."))
        now = timezone.now()
        status = found.status_at(now)
        if status == ApiTokenStatus.REVOKED:
            raise CredentialsRejected(_("This API token has been revoked."))
        if status == ApiTokenStatus.EXPIRED:
            raise CredentialsRejected(_("This API token has expired."))
        if not found.user.is_active:
            raise CredentialsRejected(_("The account of this API token is disabled."))
        found.mark_used(now)
        # Code below the API (permission checks, actions) reads request.user, as for a page.
        request.user = found.user
        request.api_token = found
        return found.user


api_token_auth = ApiTokenAuth()
# Token first: a request carrying a bad token is refused even if a session cookie rides along.
API_AUTH = [api_token_auth, django_auth]


def unauthorized(request: HttpRequest, exc: AuthenticationError, *, api: NinjaAPI) -> HttpResponse:
    """Ninja's own handler says only "Unauthorized"; say what is wrong and how to fix it."""
    if isinstance(exc, CredentialsRejected):
        detail = exc.message
    else:
        detail = _(
            "Authentication required: send an “Authorization: Bearer <token>” header "
            "(create a token under your account's API tokens) or sign in."
        )
    response = api.create_response(request, {"detail": detail}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="nightshift"'
    return response


def act_as_caller(view_func: Callable[..., Any]) -> Callable[..., Any]:
    """Make the authenticated caller the actor of everything the operation writes.

    The actor middleware runs before Ninja has read the token, so for token calls it only saw
    an anonymous user; the session case is set again here for uniformity.
    """

    @functools.wraps(view_func)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        with acting_as(getattr(request, "auth", None)):
            return view_func(request, *args, **kwargs)

    return wrapper
