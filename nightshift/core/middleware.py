from __future__ import annotations

from nightshift.core.audit import acting_as


class ActorMiddleware:
    """Makes the signed-in user the actor of everything the request writes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        with acting_as(user if user is not None and user.is_authenticated else None):
            return self.get_response(request)
