"""The ERP connector interface: what the account routines ask the ERP, and which ERP answers.

The routines never name an ERP. They call ``get_connector()``, which returns the connector the
``NIGHTSHIFT_ERP_CONNECTOR`` setting names — a registered key (``crm``: the CRM's own purchase
events and invoices, the default; ``http``: an ERP answering JSON over HTTP) or the dotted path
of a connector class — and ask it about one batch of contacts at a time. ``none`` (or an empty
value) means no ERP integration is active: ``get_connector()`` then raises ``ErpDisabled``, a
``ProcessFailed``, so a routine's run fails with that reason rather than clearing account data.

Every method takes a batch (contact id → contact code, the code being what the ERP knows the
account by) and answers for the whole batch at once, with a constant number of database
queries or HTTP requests whatever the batch size. A contact the ERP does not know is simply
absent from the answer. An answer about one contact that cannot be used (a malformed date in
an HTTP response) is an ``ErpRecordError`` in its place: that record gets an error outcome,
the rest of the batch goes on. A failure of the whole exchange (the ERP is down, refuses the
token) raises ``ErpError``, which fails the run with the reason.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from nightshift.crm.choices import ContactStatus
from nightshift.processes.base import ProcessFailed

__all__ = [
    "ErpConnector",
    "ErpDisabled",
    "ErpError",
    "ErpRecordError",
    "PurchaseSummary",
    "PurchaseTotal",
    "get_connector",
    "register_connector",
    "registered_connectors",
]

# The statuses a connector may report; "not integrated" is what an absent contact means.
ERP_STATUSES = (ContactStatus.ACTIVE, ContactStatus.INACTIVE)
DISABLED = ("", "none", "off", "disabled")


class ErpError(ProcessFailed):
    """The ERP could not answer for a batch (unreachable, timed out, refused, malformed):
    the run fails with this message, naming the ERP and what went wrong."""


class ErpDisabled(ErpError):
    """No ERP integration is active (``NIGHTSHIFT_ERP_CONNECTOR=none``)."""


@dataclass(frozen=True, slots=True)
class ErpRecordError:
    """What the ERP said about one contact could not be used; ``message`` names the field."""

    message: str


@dataclass(frozen=True, slots=True)
class PurchaseSummary:
    """An account's purchase history as the ERP knows it (the TOTVS "dados complementares")."""

    first_purchase_date: datetime.date | None = None
    first_purchase_amount: Decimal | None = None
    last_purchase_date: datetime.date | None = None
    last_purchase_amount: Decimal | None = None
    accumulated_purchase_amount: Decimal = Decimal("0.00")
    accumulated_purchase_count: int = 0
    last_quotation_date: datetime.date | None = None
    last_invoice_code: str = ""


@dataclass(frozen=True, slots=True)
class PurchaseTotal:
    """An account's purchases since a date: their total amount and how many."""

    amount: Decimal = Decimal("0.00")
    count: int = 0


Batch = Mapping[int, str]  # contact id -> contact code


class ErpConnector:
    """Base class of ERP connectors; subclass it, set ``key`` and ``label`` and decorate with
    ``@register_connector``. Instantiated once per run, so a connector may cache per run."""

    key: ClassVar[str]
    label: ClassVar[str]

    def purchase_summaries(
        self, contacts: Batch, *, as_of: datetime.date
    ) -> dict[int, PurchaseSummary | ErpRecordError]:
        """The purchase summary of each contact of the batch that has bought; absent: never."""
        raise NotImplementedError

    def account_statuses(
        self, contacts: Batch, *, as_of: datetime.date
    ) -> dict[int, str | ErpRecordError]:
        """``ContactStatus.ACTIVE`` or ``INACTIVE`` for each contact the ERP knows; absent:
        not integrated with the ERP."""
        raise NotImplementedError

    def purchase_totals(
        self, contacts: Batch, *, since: datetime.date, as_of: datetime.date
    ) -> dict[int, PurchaseTotal | ErpRecordError]:
        """The purchases of each contact from ``since`` to ``as_of`` (both included); absent:
        none in that period."""
        raise NotImplementedError


_connectors: dict[str, type[ErpConnector]] = {}


def register_connector[C: type[ErpConnector]](cls: C) -> C:
    """Class decorator: make ``cls`` selectable as ``NIGHTSHIFT_ERP_CONNECTOR=<cls.key>``.
    A second class claiming a key fails at import time."""
    existing = _connectors.get(cls.key)
    if existing is not None and existing is not cls:
        raise ImproperlyConfigured(
            f"ERP connector key {cls.key!r} is already registered by {existing.__qualname__}."
        )
    _connectors[cls.key] = cls
    return cls


def registered_connectors() -> dict[str, type[ErpConnector]]:
    """The built-in and registered connectors by key."""
    _load_builtins()
    return dict(_connectors)


def connector_setting() -> str:
    return str(getattr(settings, "NIGHTSHIFT_ERP_CONNECTOR", "crm") or "").strip()


def get_connector() -> ErpConnector:
    """The active ERP connector. Raises ``ErpDisabled`` when no ERP integration is active and
    ``ErpError`` when the setting names no connector (both fail a run with the reason)."""
    name = connector_setting()
    if name.lower() in DISABLED:
        raise ErpDisabled(
            _(
                "No ERP integration is active (NIGHTSHIFT_ERP_CONNECTOR is “%(value)s”): the "
                "account data comes from the ERP, so nothing was updated. Set "
                "NIGHTSHIFT_ERP_CONNECTOR to crm, http or a connector class."
            )
            % {"value": name or "none"}
        )
    return _connector_class(name)()


def _connector_class(name: str) -> type[ErpConnector]:
    connectors = registered_connectors()
    if name in connectors:
        return connectors[name]
    if "." in name:
        try:
            cls = import_string(name)
        except ImportError as exc:
            raise ErpError(
                _("The ERP connector %(name)s cannot be imported: %(error)s")
                % {"name": name, "error": exc}
            ) from None
        if isinstance(cls, type) and issubclass(cls, ErpConnector):
            return cls
    raise ErpError(
        _("NIGHTSHIFT_ERP_CONNECTOR names no ERP connector: “%(name)s”. Known: %(known)s.")
        % {"name": name, "known": ", ".join(sorted(connectors))}
    )


def _load_builtins() -> None:
    from nightshift.erp.connectors import crm, http  # noqa: F401 — they register themselves


def split_errors[T](
    answers: Mapping[int, T | ErpRecordError],
) -> tuple[dict[int, T], dict[int, str]]:
    """Usable answers, and the messages of the records the ERP answered badly about."""
    good: dict[int, T] = {}
    bad: dict[int, str] = {}
    for pk, answer in answers.items():
        if isinstance(answer, ErpRecordError):
            bad[pk] = answer.message
        else:
            good[pk] = answer
    return good, bad
