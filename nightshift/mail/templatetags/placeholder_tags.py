"""The only tags and filters e-mail templates may use (see ``nightshift.mail.rendering``):
Django's default filters and its default tags minus those that reach outside the context."""

from __future__ import annotations

from django import template
from django.template import defaultfilters, defaulttags

# Tags that load code, read other templates, dump state or need a request.
FORBIDDEN_TAGS = {"load", "debug", "csrf_token", "url", "include", "extends", "block", "lorem"}

register = template.Library()
register.tags.update(
    {name: tag for name, tag in defaulttags.register.tags.items() if name not in FORBIDDEN_TAGS}
)
register.filters.update(defaultfilters.register.filters)
