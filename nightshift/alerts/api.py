"""Notifications over HTTP: the caller's own (listing and attending — reachable while blocked,
as the page is) and the administrators' release."""

# No ``from __future__ import annotations``: Ninja reads the annotations at import time.

from datetime import datetime

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from nightshift.alerts import actions
from nightshift.crm.choices import NotificationKind, NotificationState
from nightshift.crm.models import Notification

router = Router(tags=["notifications"])
LIMIT = 500  # newest notifications listed at most


class NotificationOut(Schema):
    id: int
    kind: str
    state: str
    title: str
    message: str
    link: str
    subject_key: str
    deadline: datetime | None
    attended_at: datetime | None
    released_at: datetime | None
    created_at: datetime


class ReleaseIn(Schema):
    notification_ids: list[int] | None = None


class ReleaseOut(Schema):
    released: int


@router.get(
    "/notifications",
    response=list[NotificationOut],
    url_name="alerts_my_notifications",
    summary="My notifications",
)
def my_notifications(
    request: HttpRequest,
    kind: NotificationKind | None = None,
    state: NotificationState | None = None,
):
    """The caller's notifications, newest first (at most 500), filtered by kind and state."""
    rows = Notification.objects.filter(user=request.auth)
    if kind:
        rows = rows.filter(kind=kind)
    if state:
        rows = rows.filter(state=state)
    return rows.order_by("-created_at", "-pk")[:LIMIT]


@router.post(
    "/notifications/{notification_id}/attend",
    response=NotificationOut,
    url_name="alerts_attend_notification",
    summary="Attend to one of my notifications",
)
def attend(request: HttpRequest, notification_id: int):
    try:
        return actions.attend_notification(user=request.auth, notification_id=notification_id)
    except ObjectDoesNotExist as exc:
        raise HttpError(404, str(exc)) from None


@router.post(
    "/users/{user_id}/notifications/release",
    response=ReleaseOut,
    summary="Release a user's blocking notifications (administrators)",
)
def release(request: HttpRequest, user_id: int, payload: ReleaseIn):
    try:
        released = actions.release_notifications(
            user=request.auth, user_id=user_id, notification_ids=payload.notification_ids
        )
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None
    return {"released": released}
