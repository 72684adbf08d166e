"""Every write on API tokens. Views, the API and the ``tokens`` command call these."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from nightshift.api.models import ApiToken
from nightshift.core.audit import acting_as

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser

logger = logging.getLogger(__name__)

REVOKE_ANY_PERMISSION = "api.revoke_any_apitoken"


def create_token(
    *, user: AbstractUser, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a personal API token for ``user`` and return it with its secret.

    The secret is returned here and nowhere else: only its hash is stored, so the caller must
    show it to the user now. ``expires_at`` must lie in the future; ``None`` means the token
    lasts until it is revoked. A disabled account gets no token.
    """
    name = name.strip()
    if not name:
        raise ValidationError(_("Give the token a name."), code="required")
    if not user.is_active:
        raise ValidationError(_("A disabled account cannot have API tokens."), code="inactive")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError(_("The expiry date must be in the future."), code="expired")
    secret = ApiToken.new_secret()
    with acting_as(user), transaction.atomic():
        token = ApiToken(user=user, name=name, expires_at=expires_at)
        token.set_secret(secret)
        token.save()
    logger.info("API token %s (%s) created for %s", token.pk, token.prefix, user)
    return token, secret


def revoke_token(*, user: AbstractUser, token_id: int) -> ApiToken:
    """Revoke a token: the API refuses it from the next request on.

    A user revokes their own tokens; holders of ``api.revoke_any_apitoken`` (administrators)
    revoke anyone's. Someone else's token is reported as not found rather than forbidden, so
    token ids do not reveal who owns tokens. Revoking an already revoked token changes nothing.
    """
    tokens = ApiToken.objects.select_for_update()
    if not user.has_perm(REVOKE_ANY_PERMISSION):
        tokens = tokens.filter(user=user)
    with acting_as(user), transaction.atomic():
        token = tokens.get(pk=token_id)  # raises ApiToken.DoesNotExist
        token.revoke(timezone.now())
    logger.info("API token %s (%s) revoked by %s", token.pk, token.prefix, user)
    return token
