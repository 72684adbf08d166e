"""The registry of exporters, keyed by their stable slug (the entity an export names).

Exporters register with ``@register_exporter`` at import time; ``autodiscover`` (called from
``ExportsConfig.ready``) imports the ``exporters`` module of every installed app, so another
app or an installed package adds an entity by shipping one more exporter class.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ImproperlyConfigured

from nightshift.exports.base import Exporter

__all__ = [
    "all_exporters",
    "autodiscover",
    "get_exporter",
    "register_exporter",
    "register_temporarily",
]

_registry: dict[str, type[Exporter]] = {}


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register_exporter[E: type[Exporter]](cls: E) -> E:
    """Class decorator: make ``cls`` available under ``cls.key``.

    A second class with the same key fails at import time with ``ImproperlyConfigured``
    (stored export definitions name their entity by key); the very same class registered again
    (its module re-imported) is ignored.
    """
    if not (isinstance(cls, type) and issubclass(cls, Exporter)):
        raise ImproperlyConfigured(f"{cls!r} is not an Exporter subclass and cannot be registered.")
    key = getattr(cls, "key", "")
    if not key:
        raise ImproperlyConfigured(f"{cls.__qualname__} has no key; set a stable slug.")
    existing = _registry.get(key)
    if existing is not None and _qualified(existing) != _qualified(cls):
        raise ImproperlyConfigured(
            f"Exporter key {key!r} is already registered by {_qualified(existing)}; "
            f"{_qualified(cls)} cannot use it too."
        )
    _registry[key] = cls
    return cls


def get_exporter(key: str) -> type[Exporter]:
    """The exporter registered under ``key``; ``LookupError`` naming the known keys."""
    try:
        return _registry[key]
    except KeyError:
        known = ", ".join(sorted(_registry)) or "none"
        raise LookupError(f"There is no export of “{key}”. Known: {known}.") from None


def all_exporters() -> list[type[Exporter]]:
    """Every registered exporter, sorted by key."""
    return [_registry[key] for key in sorted(_registry)]


@contextmanager
def register_temporarily[E: type[Exporter]](cls: E) -> Iterator[E]:
    """Register ``cls`` for the block (tests), then restore the registry as it was."""
    previous = _registry.pop(cls.key, None)
    try:
        yield register_exporter(cls)
    finally:
        _registry.pop(cls.key, None)
        if previous is not None:
            _registry[cls.key] = previous


def autodiscover() -> None:
    """Import the ``exporters`` module of every installed app. Idempotent."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("exporters")
