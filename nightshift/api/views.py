"""The account pages where a user lists, creates and revokes their API tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from nightshift.api.actions import create_token, revoke_token
from nightshift.api.forms import ApiTokenForm
from nightshift.api.models import ApiToken


@never_cache  # the answer to a creation holds the secret: no cache may keep it
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """The user's tokens and the form to create one.

    A creation is answered with this page showing the secret, not with a redirect: keeping the
    secret somewhere to show it after a redirect (session, message) would store it.
    """
    secret = None
    created = None
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created, secret = create_token(
                user=request.user, name=form.cleaned_data["name"], expires_at=form.expires_at()
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            form = ApiTokenForm()
    tokens = ApiToken.objects.filter(user=request.user)
    return render(
        request,
        "api/token_list.html",
        {"tokens": tokens, "form": form, "created": created, "secret": secret},
    )


@login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """Ask for confirmation (GET), then revoke (POST)."""
    if request.method == "POST":
        try:
            token = revoke_token(user=request.user, token_id=token_id)
        except ApiToken.DoesNotExist:
            raise Http404(_("No such API token.")) from None
        messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
        return redirect("api_tokens")
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    return render(request, "api/token_revoke.html", {"token": token})
