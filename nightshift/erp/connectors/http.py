"""An ERP answering JSON over HTTP (docs/erp.md gives the protocol).

Each question about a batch of contacts is one ``POST`` per ``NIGHTSHIFT_ERP_BATCH`` accounts
to ``NIGHTSHIFT_ERP_URL`` + a fixed path, with the token as a bearer credential, a JSON body
naming the accounts by code, and a timeout of ``NIGHTSHIFT_ERP_TIMEOUT`` seconds. The answer
maps account codes to what the ERP knows; an account it does not know is left out. Transport
failures, HTTP errors and malformed answers raise ``ErpError`` (the run fails, naming the URL
and the reason); a malformed entry for one account is an ``ErpRecordError`` for that account.
"""

from __future__ import annotations

import datetime
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, Literal

import pydantic
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from nightshift.crm.choices import ContactStatus
from nightshift.erp.connectors import (
    Batch,
    ErpConnector,
    ErpError,
    ErpRecordError,
    PurchaseSummary,
    PurchaseTotal,
    register_connector,
)

__all__ = ["HttpConnector"]

logger = logging.getLogger(__name__)

PURCHASE_SUMMARIES = "accounts/purchase-summaries"
ACCOUNT_STATUSES = "accounts/statuses"
PURCHASE_TOTALS = "accounts/purchase-totals"
# An error body is quoted to the operator up to this length: enough for the ERP's message.
ERROR_EXCERPT = 300


class _Answer(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")


class _Summary(_Answer):
    first_purchase_date: datetime.date | None = None
    first_purchase_amount: Decimal | None = pydantic.Field(default=None, ge=0, decimal_places=2)
    last_purchase_date: datetime.date | None = None
    last_purchase_amount: Decimal | None = pydantic.Field(default=None, ge=0, decimal_places=2)
    accumulated_purchase_amount: Decimal = pydantic.Field(
        default=Decimal("0.00"), ge=0, decimal_places=2
    )
    accumulated_purchase_count: int = pydantic.Field(default=0, ge=0)
    last_quotation_date: datetime.date | None = None
    last_invoice_code: str = pydantic.Field(default="", max_length=40)


class _Status(_Answer):
    status: Literal["active", "inactive"]


class _Total(_Answer):
    amount: Decimal = pydantic.Field(default=Decimal("0.00"), ge=0, decimal_places=2)
    count: int = pydantic.Field(default=0, ge=0)


def _chunks(contacts: Batch, size: int) -> Iterator[dict[str, int]]:
    """The batch as ``code -> id`` maps of at most ``size`` accounts."""
    chunk: dict[str, int] = {}
    for pk, code in contacts.items():
        chunk[code] = pk
        if len(chunk) >= size:
            yield chunk
            chunk = {}
    if chunk:
        yield chunk


@register_connector
class HttpConnector(ErpConnector):
    """Asks an ERP over HTTP; see the module docstring and docs/erp.md for the protocol."""

    key = "http"
    label = gettext_lazy("ERP over HTTP (JSON)")

    def __init__(self) -> None:
        self.base_url = str(getattr(settings, "NIGHTSHIFT_ERP_URL", "") or "").rstrip("/")
        self.token = str(getattr(settings, "NIGHTSHIFT_ERP_TOKEN", "") or "")
        self.timeout = float(getattr(settings, "NIGHTSHIFT_ERP_TIMEOUT", 30))
        self.chunk_size = max(1, int(getattr(settings, "NIGHTSHIFT_ERP_BATCH", 500)))
        if not self.base_url:
            raise ErpError(
                _(
                    "The HTTP ERP connector is selected but NIGHTSHIFT_ERP_URL is not set; set "
                    "it to the ERP's base URL (e.g. https://erp.example.com/api)."
                )
            )
        if not self.base_url.startswith(("http://", "https://")):
            raise ErpError(
                _("NIGHTSHIFT_ERP_URL must start with http:// or https://, not “%(url)s”.")
                % {"url": self.base_url}
            )

    # -- the three questions ---------------------------------------------------------------

    def purchase_summaries(self, contacts: Batch, *, as_of: datetime.date):
        return self._ask(
            PURCHASE_SUMMARIES,
            contacts,
            {"as_of": as_of.isoformat()},
            _Summary,
            lambda entry: PurchaseSummary(**entry.model_dump()),
        )

    def account_statuses(self, contacts: Batch, *, as_of: datetime.date):
        return self._ask(
            ACCOUNT_STATUSES,
            contacts,
            {"as_of": as_of.isoformat()},
            _Status,
            lambda entry: ContactStatus(entry.status),
        )

    def purchase_totals(self, contacts: Batch, *, since: datetime.date, as_of: datetime.date):
        return self._ask(
            PURCHASE_TOTALS,
            contacts,
            {"since": since.isoformat(), "as_of": as_of.isoformat()},
            _Total,
            lambda entry: PurchaseTotal(amount=entry.amount, count=entry.count),
        )

    # -- the exchange ----------------------------------------------------------------------

    def _ask(
        self,
        path: str,
        contacts: Batch,
        extra: dict[str, Any],
        schema: type[_Answer],
        convert: Callable[[Any], Any],
    ) -> dict[int, Any]:
        answers: dict[int, Any] = {}
        for chunk in _chunks(contacts, self.chunk_size):
            accounts = self._post(path, {"accounts": list(chunk), **extra})
            for code, entry in accounts.items():
                pk = chunk.get(code)
                if pk is None:
                    continue  # an account the CRM did not ask about
                if schema is _Status and isinstance(entry, str):
                    entry = {"status": entry}  # noqa: PLW2901 — "active" is short for {"status": "active"}
                try:
                    answers[pk] = convert(schema.model_validate(entry))
                except pydantic.ValidationError as exc:
                    answers[pk] = ErpRecordError(_describe(code, exc))
        return answers

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}/{path}"
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        # The scheme is checked to be http(s) when the connector is built.
        request = urllib.request.Request(  # noqa: S310
            url, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                payload = response.read()
        except urllib.error.HTTPError as exc:
            excerpt = exc.read()[:ERROR_EXCERPT].decode("utf-8", "replace").strip()
            if exc.code in (401, 403):
                reason = _("the ERP refused the credentials (check NIGHTSHIFT_ERP_TOKEN)")
            else:
                reason = _("the ERP answered HTTP %(status)s") % {"status": exc.code}
            raise ErpError(
                _("POST %(url)s failed: %(reason)s. %(excerpt)s")
                % {"url": url, "reason": reason, "excerpt": excerpt}
            ) from None
        except TimeoutError:
            raise ErpError(
                _("POST %(url)s failed: no answer within %(seconds)s s (NIGHTSHIFT_ERP_TIMEOUT).")
                % {"url": url, "seconds": f"{self.timeout:g}"}
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                raise ErpError(
                    _(
                        "POST %(url)s failed: no answer within %(seconds)s s "
                        "(NIGHTSHIFT_ERP_TIMEOUT)."
                    )
                    % {"url": url, "seconds": f"{self.timeout:g}"}
                ) from None
            raise ErpError(
                _("POST %(url)s failed: the ERP cannot be reached (%(reason)s).")
                % {"url": url, "reason": reason}
            ) from None
        try:
            data = json.loads(payload)
        except ValueError:
            raise ErpError(
                _("POST %(url)s answered something that is not JSON: %(excerpt)s")
                % {"url": url, "excerpt": payload[:ERROR_EXCERPT].decode("utf-8", "replace")}
            ) from None
        accounts = data.get("accounts") if isinstance(data, dict) else None
        if not isinstance(accounts, dict):
            raise ErpError(
                _(
                    "POST %(url)s answered JSON without an “accounts” object (account code → "
                    "data); see docs/erp.md."
                )
                % {"url": url}
            )
        return accounts


def _describe(code: str, exc: pydantic.ValidationError) -> str:
    """``account CUS-1: last_purchase_date: Input should be a valid date`` for each error."""
    problems = "; ".join(
        f"{'.'.join(str(p) for p in error['loc']) or 'entry'}: {error['msg']}"
        for error in exc.errors(include_url=False)
    )
    return _("The ERP's data for account %(code)s is invalid: %(problems)s") % {
        "code": code,
        "problems": problems,
    }
