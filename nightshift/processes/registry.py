"""The registry of process types, keyed by their stable slug.

Processes register with ``@register`` at import time; ``autodiscover`` (called from
``ProcessesConfig.ready``) imports the built-in processes and every installed app's
``processes`` module, as the admin finds ``admin.py``. The engine, the API and the CLI look
processes up here and never import one by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ImproperlyConfigured

from nightshift.processes.base import Process

__all__ = [
    "all_processes",
    "autodiscover",
    "get_process",
    "register",
    "register_temporarily",
]

_registry: dict[str, type[Process]] = {}


def register[P: type[Process]](cls: P) -> P:
    """Class decorator: make ``cls`` available under ``cls.key``.

    A second class with the same key fails at import time with ``ImproperlyConfigured``:
    stored run definitions refer to processes by key, so two claimants would make runs ambiguous.
    Registering the very same class again (a module imported twice) is harmless and ignored.
    """
    if not (isinstance(cls, type) and issubclass(cls, Process)):
        raise ImproperlyConfigured(f"{cls!r} is not a Process subclass and cannot be registered.")
    key = getattr(cls, "key", "")
    if not key:
        raise ImproperlyConfigured(f"{cls.__qualname__} has no key; set a stable slug.")
    existing = _registry.get(key)
    # The same class seen again (its module re-imported by a reloader) is not a conflict.
    if existing is not None and _qualified(existing) != _qualified(cls):
        raise ImproperlyConfigured(
            f"Process key {key!r} is already registered by {_qualified(existing)}; "
            f"{_qualified(cls)} cannot use it too."
        )
    _registry[key] = cls
    return cls


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def get_process(key: str) -> type[Process]:
    """The process class registered under ``key``; ``LookupError`` naming the known keys if
    none is (e.g. a definition stored before its process was removed)."""
    try:
        return _registry[key]
    except KeyError:
        known = ", ".join(sorted(_registry)) or "none"
        raise LookupError(
            f"No process is registered under {key!r}. Known processes: {known}."
        ) from None


def all_processes() -> list[type[Process]]:
    """Every registered process class, sorted by key (a stable order for listings)."""
    return [_registry[key] for key in sorted(_registry)]


@contextmanager
def register_temporarily[P: type[Process]](cls: P) -> Iterator[P]:
    """Register ``cls`` for the duration of the block (for tests), then restore the registry
    as it was, including a class the temporary one displaced."""
    key = cls.key
    previous = _registry.pop(key, None)
    try:
        yield register(cls)
    finally:
        _registry.pop(key, None)
        if previous is not None:
            _registry[key] = previous


def autodiscover() -> None:
    """Import the built-in processes and the ``processes`` module of every installed app, so
    that their ``@register`` decorators run. Idempotent."""
    from django.utils.module_loading import autodiscover_modules

    import nightshift.processes.builtin  # noqa: F401 — registers the built-in processes

    autodiscover_modules("processes")
