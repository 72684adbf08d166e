"""``{% notifications_panel %}``: the signed-in user's open notifications on the dashboard."""

from __future__ import annotations

from django import template

from nightshift.crm.choices import NotificationKind, NotificationState
from nightshift.crm.models import Notification

register = template.Library()

PANEL_LIMIT = 10  # notifications listed on the dashboard; the page has them all


@register.inclusion_tag("alerts/_panel.html", takes_context=True)
def notifications_panel(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}
    # One query: the newest open ones, one more than shown to know whether there are more.
    rows = list(
        Notification.objects.filter(user=user, state=NotificationState.OPEN)
        .order_by("-created_at", "-pk")
        .only("pk", "kind", "title", "link", "deadline", "created_at")[: PANEL_LIMIT + 1]
    )
    return {
        "show": True,
        "reminders": [n for n in rows[:PANEL_LIMIT] if n.kind == NotificationKind.NON_BLOCKING],
        "blocking": [n for n in rows[:PANEL_LIMIT] if n.kind == NotificationKind.BLOCKING],
        "more": len(rows) > PANEL_LIMIT,
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }
