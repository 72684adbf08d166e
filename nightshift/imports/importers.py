"""The built-in importers: the entities the manuals let operators import.

Synonyms are header names that suggest a field beyond its name and label (in English and
Brazilian Portuguese): common English and Portuguese wordings, and the headers of the Google
Contacts and Outlook CSV exports, so that such files map onto contacts without typing.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from nightshift.crm.choices import (
    ContactKind,
    ContactStatus,
    DeviceState,
    LeadState,
    PaymentGatewayRequestState,
    VoucherState,
)
from nightshift.crm.models import (
    Contact,
    Device,
    Lead,
    PaymentGatewayRequest,
    Product,
    RewardParticipant,
    RewardSchemeCode,
    Voucher,
)
from nightshift.imports.registry import Field, FieldType, Importer, Reference, register_importer

__all__ = [
    "ContactImporter",
    "DeviceImporter",
    "LeadImporter",
    "PaymentGatewayRequestImporter",
    "ProductImporter",
    "RewardParticipantImporter",
    "RewardSchemeCodeImporter",
    "VoucherImporter",
]


def _named(value: str) -> dict[str, Any]:
    """A reference record (code + name) created from the name a file gives."""
    return {"code": value[:40], "name": value[:120]}


CONTACT = Reference("crm.Contact", lookup="code")
CLASSIFICATION = Reference("crm.ContactClassification", lookup="name", creatable=True)
CUSTOMER_CLASS = Reference("crm.CustomerClass", lookup="code")
PRODUCT = Reference("crm.Product", lookup="code")
PRODUCT_FAMILY = Reference("crm.ProductFamily", lookup="code", creatable=True, create=_named)
WAREHOUSE = Reference("crm.Warehouse", lookup="code", creatable=True, create=_named)
REWARD_SCHEME = Reference("crm.RewardScheme", lookup="code")
INVOICE = Reference("crm.Invoice", lookup="code")

# Headers shared by people-like entities (contacts and leads).
FIRST_NAME = ("first name", "given name", "forename", "nome", "primeiro nome", "prenome")
LAST_NAME = ("last name", "family name", "surname", "sobrenome", "ultimo nome")
COMPANY = (
    "company",
    "company name",
    "organization",
    "organisation",
    "organization name",
    "organization 1 - name",
    "empresa",
    "razao social",
    "nome da empresa",
)
EMAIL = (
    "email",
    "e-mail",
    "email address",
    "e-mail address",
    "e-mail 1 - value",
    "mail",
    "correio eletronico",
    "endereco de e-mail",
)
PHONE = (
    "phone",
    "telephone",
    "mobile",
    "mobile phone",
    "primary phone",
    "phone 1 - value",
    "home phone",
    "business phone",
    "telefone",
    "celular",
    "fone",
)


def _missing_name(values: Mapping[str, Any]) -> bool:
    return not (values.get("first_name") or values.get("last_name"))


@register_importer
class ContactImporter(Importer):
    """Contacts (customers). A file without codes (a Google Contacts or Outlook export) creates
    contacts with generated codes."""

    key = "contacts"
    name = gettext_lazy("Contacts")
    description = gettext_lazy("The existing contacts (customers) of the business.")
    model = Contact
    match = ("code",)
    generates_code = True
    fields = (
        Field(
            "code",
            gettext_lazy("Code"),
            required=True,
            synonyms=("contact code", "customer code", "account code", "codigo", "cod cliente"),
            help=gettext_lazy("Identifies the contact; generated when the file has none."),
            sample="C000123",
        ),
        Field(
            "kind",
            gettext_lazy("Kind"),
            FieldType.CHOICE,
            choices=ContactKind,
            synonyms=("type", "contact type", "tipo", "tipo de pessoa"),
            sample="person",
        ),
        Field("first_name", gettext_lazy("First name"), synonyms=FIRST_NAME, sample="Maria"),
        Field("last_name", gettext_lazy("Last name"), synonyms=LAST_NAME, sample="Silva"),
        Field("company_name", gettext_lazy("Company name"), synonyms=COMPANY),
        Field(
            "email", gettext_lazy("E-mail"), FieldType.EMAIL, synonyms=EMAIL, sample="maria@x.com"
        ),
        Field("phone", gettext_lazy("Phone"), FieldType.PHONE, synonyms=PHONE, sample="0219988"),
        Field(
            "birth_date",
            gettext_lazy("Birth date"),
            FieldType.DATE,
            synonyms=("birthday", "date of birth", "dob", "data de nascimento", "nascimento"),
            sample="1980-05-17",
        ),
        Field(
            "address",
            gettext_lazy("Address"),
            synonyms=("street", "address 1 - street", "home street", "endereco", "logradouro"),
        ),
        Field(
            "city",
            gettext_lazy("City"),
            synonyms=("town", "address 1 - city", "home city", "cidade", "municipio"),
            sample="Recife",
        ),
        Field(
            "state_province",
            gettext_lazy("State / province"),
            synonyms=("state", "region", "province", "address 1 - region", "home state", "uf"),
        ),
        Field(
            "zip_code",
            gettext_lazy("Zip code"),
            FieldType.PHONE,
            synonyms=(
                "zip",
                "postal code",
                "postcode",
                "address 1 - postal code",
                "home postal code",
                "cep",
                "codigo postal",
            ),
            sample="01310-100",
        ),
        Field(
            "country",
            gettext_lazy("Country"),
            FieldType.COUNTRY,
            synonyms=("address 1 - country", "home country/region", "country/region", "pais"),
            sample="BR",
        ),
        Field("language", gettext_lazy("Language"), synonyms=("idioma", "lingua", "locale")),
        Field(
            "classification",
            gettext_lazy("Classification"),
            FieldType.REFERENCE,
            reference=CLASSIFICATION,
            synonyms=("category", "categories", "segment", "classificacao", "categoria"),
            sample="Retail",
        ),
        Field(
            "status",
            gettext_lazy("Status"),
            FieldType.CHOICE,
            choices=ContactStatus,
            synonyms=("situacao", "estado do cliente"),
            sample="active",
        ),
        Field(
            "customer_class",
            gettext_lazy("Customer class"),
            FieldType.REFERENCE,
            reference=CUSTOMER_CLASS,
            synonyms=("class", "classe", "classe do cliente"),
        ),
    )

    def check_row(self, values: Mapping[str, Any], *, creating: bool) -> dict[str, str]:
        kind = values.get("kind") or (ContactKind.PERSON if creating else None)
        company = kind == ContactKind.COMPANY and (creating or "company_name" in values)
        if company and not values.get("company_name"):
            return {"company_name": _("A company contact needs a company name.")}
        person = kind == ContactKind.PERSON and (
            creating or {"first_name", "last_name"} & set(values)
        )
        if person and _missing_name(values):
            return {"first_name": _("A person needs a first or a last name.")}
        return {}


@register_importer
class LeadImporter(Importer):
    """Leads (prospects). Like contacts, a file without codes creates leads with generated
    codes."""

    key = "leads"
    name = gettext_lazy("Leads")
    description = gettext_lazy("Prospects that are not customers yet.")
    model = Lead
    match = ("code",)
    generates_code = True
    fields = (
        Field(
            "code",
            gettext_lazy("Code"),
            required=True,
            synonyms=("lead code", "codigo"),
            sample="L000123",
        ),
        Field("first_name", gettext_lazy("First name"), synonyms=FIRST_NAME, sample="João"),
        Field("last_name", gettext_lazy("Last name"), synonyms=LAST_NAME, sample="Souza"),
        Field("company_name", gettext_lazy("Company name"), synonyms=COMPANY, sample="Acme"),
        Field(
            "email", gettext_lazy("E-mail"), FieldType.EMAIL, synonyms=EMAIL, sample="joao@x.com"
        ),
        Field("phone", gettext_lazy("Phone"), FieldType.PHONE, synonyms=PHONE),
        Field(
            "source",
            gettext_lazy("Source"),
            synonyms=("lead source", "origin", "origem", "fonte", "campanha"),
            sample="Trade fair",
        ),
        Field(
            "state",
            gettext_lazy("State"),
            FieldType.CHOICE,
            choices=LeadState,
            synonyms=("status", "lead status", "situacao"),
            sample="new",
        ),
    )

    def check_row(self, values: Mapping[str, Any], *, creating: bool) -> dict[str, str]:
        if values.get("state") == LeadState.NURTURE:
            return {"state": _("A lead cannot be imported into nurture; its drip sets that.")}
        given = {"first_name", "last_name", "company_name", "email"} & set(values)
        if (creating or given) and not any(values.get(name) for name in given):
            return {"first_name": _("A lead needs a name, a company name or an e-mail.")}
        return {}


@register_importer
class ProductImporter(Importer):
    """Products and services with their basic attributes; missing families can be created."""

    key = "products"
    name = gettext_lazy("Products")
    description = gettext_lazy("The products and services the business sells.")
    model = Product
    match = ("code",)
    fields = (
        Field(
            "code",
            gettext_lazy("Code"),
            required=True,
            synonyms=("product code", "sku", "item code", "codigo", "codigo do produto"),
            sample="P-0001",
        ),
        Field(
            "name",
            gettext_lazy("Name"),
            required=True,
            synonyms=("product name", "title", "nome", "nome do produto", "produto"),
            sample="Fibre 300",
        ),
        Field("description", gettext_lazy("Description"), synonyms=("descricao", "detalhes")),
        Field(
            "family",
            gettext_lazy("Product family"),
            FieldType.REFERENCE,
            reference=PRODUCT_FAMILY,
            synonyms=("family", "category", "familia", "categoria", "familia do produto"),
            sample="BROADBAND",
        ),
        Field(
            "is_service",
            gettext_lazy("Service"),
            FieldType.BOOLEAN,
            synonyms=("service", "servico", "e servico"),
            sample="no",
        ),
        Field(
            "is_traceable",
            gettext_lazy("Traceable"),
            FieldType.BOOLEAN,
            synonyms=("traceable", "serialised", "serialized", "rastreavel"),
            sample="yes",
        ),
        Field(
            "unit_price",
            gettext_lazy("Unit price"),
            FieldType.DECIMAL,
            synonyms=("price", "preco", "preco unitario", "valor"),
            sample="49.90",
        ),
        Field(
            "is_active",
            gettext_lazy("Active"),
            FieldType.BOOLEAN,
            synonyms=("active", "ativo"),
            sample="yes",
        ),
    )

    def check_row(self, values: Mapping[str, Any], *, creating: bool) -> dict[str, str]:
        price = values.get("unit_price")
        if price is not None and price < 0:
            return {"unit_price": _("The unit price cannot be negative.")}
        return {}


@register_importer
class DeviceImporter(Importer):
    """Devices and installed items: serial numbers of traceable products, in a warehouse
    (often fixed by the input settings) or installed at a contact."""

    key = "devices"
    name = gettext_lazy("Devices / installed items")
    description = gettext_lazy("A catalogue of devices (physical goods) and their serial numbers.")
    model = Device
    match = ("serial_number",)
    fields = (
        Field(
            "serial_number",
            gettext_lazy("Serial number"),
            required=True,
            synonyms=("serial", "serial no", "sn", "numero de serie", "serie"),
            sample="SN000001",
        ),
        Field(
            "product",
            gettext_lazy("Product"),
            FieldType.REFERENCE,
            required=True,
            reference=PRODUCT,
            synonyms=("product code", "sku", "produto", "codigo do produto"),
            sample="P-0001",
        ),
        Field(
            "warehouse",
            gettext_lazy("Location / warehouse"),
            FieldType.REFERENCE,
            reference=WAREHOUSE,
            synonyms=("location", "warehouse", "deposito", "armazem", "local"),
            sample="WH-MAIN",
        ),
        Field(
            "contact",
            gettext_lazy("Installed at contact"),
            FieldType.REFERENCE,
            reference=CONTACT,
            synonyms=("contact", "customer", "contact code", "cliente", "codigo do cliente"),
        ),
        Field(
            "state",
            gettext_lazy("State"),
            FieldType.CHOICE,
            choices=DeviceState,
            synonyms=("status", "situacao", "estado"),
            sample="in_stock",
        ),
        Field(
            "installed_on",
            gettext_lazy("Installed on"),
            FieldType.DATE,
            synonyms=("installation date", "data de instalacao", "instalado em"),
        ),
    )

    def check_row(self, values: Mapping[str, Any], *, creating: bool) -> dict[str, str]:
        state = values.get("state") or (DeviceState.IN_STOCK if creating else None)
        installed = state == DeviceState.INSTALLED and (creating or "contact" in values)
        if installed and not values.get("contact"):
            return {"contact": _("An installed item must be installed at a contact.")}
        in_stock = state == DeviceState.IN_STOCK and (creating or "warehouse" in values)
        if in_stock and not values.get("warehouse"):
            return {"warehouse": _("A device in stock must be in a warehouse.")}
        return {}


def _currency_error(values: Mapping[str, Any]) -> dict[str, str]:
    currency = values.get("currency")
    if currency is not None and not (len(currency) == 3 and currency.isalpha()):
        return {
            "currency": _("“%(value)s” is not a three-letter currency code.") % {"value": currency}
        }
    return {}


@register_importer
class VoucherImporter(Importer):
    """Vouchers with their value and validity window."""

    key = "vouchers"
    name = gettext_lazy("Vouchers")
    description = gettext_lazy("Prepaid or promotional vouchers.")
    model = Voucher
    match = ("code",)
    fields = (
        Field(
            "code",
            gettext_lazy("Code"),
            required=True,
            synonyms=("voucher", "voucher code", "codigo", "cupom", "vale"),
            sample="V-2026-0001",
        ),
        Field(
            "value",
            gettext_lazy("Value"),
            FieldType.DECIMAL,
            required=True,
            synonyms=("amount", "valor", "montante"),
            sample="25.00",
        ),
        Field(
            "currency",
            gettext_lazy("Currency"),
            synonyms=("moeda",),
            sample="EUR",
        ),
        Field(
            "state",
            gettext_lazy("State"),
            FieldType.CHOICE,
            choices=VoucherState,
            synonyms=("status", "situacao", "estado"),
            sample="active",
        ),
        Field(
            "contact",
            gettext_lazy("Contact"),
            FieldType.REFERENCE,
            reference=CONTACT,
            synonyms=("contact code", "customer", "cliente", "codigo do cliente"),
        ),
        Field(
            "valid_from",
            gettext_lazy("Valid from"),
            FieldType.DATE,
            required=True,
            synonyms=("start date", "from", "valido de", "inicio da validade", "data inicial"),
            sample="2026-01-01",
        ),
        Field(
            "valid_to",
            gettext_lazy("Valid to"),
            FieldType.DATE,
            required=True,
            synonyms=("end date", "expiry date", "expires", "valido ate", "validade"),
            sample="2026-12-31",
        ),
        Field(
            "redeemed_at",
            gettext_lazy("Redeemed at"),
            FieldType.DATETIME,
            synonyms=("redemption date", "resgatado em", "data de resgate"),
        ),
    )

    def check_row(self, values: Mapping[str, Any], *, creating: bool) -> dict[str, str]:
        value = values.get("value")
        if value is not None and value <= 0:
            return {"value": _("The voucher value must be positive.")}
        start, end = values.get("valid_from"), values.get("valid_to")
        if start and end and end < start:
            return {"valid_to": _("A voucher cannot expire before it becomes valid.")}
        if values.get("state") == VoucherState.REDEEMED and not values.get("redeemed_at"):
            return {"redeemed_at": _("A redeemed voucher needs its redemption date.")}
        return _currency_error(values)


@register_importer
class RewardParticipantImporter(Importer):
    """Contacts taking part in reward schemes; a contact is in a scheme at most once."""

    key = "reward_participants"
    name = gettext_lazy("Reward participants")
    description = gettext_lazy("Contacts taking part in reward schemes.")
    model = RewardParticipant
    match = ("scheme", "contact")
    fields = (
        Field(
            "scheme",
            gettext_lazy("Reward scheme"),
            FieldType.REFERENCE,
            required=True,
            reference=REWARD_SCHEME,
            synonyms=("scheme", "scheme code", "programa", "programa de fidelidade"),
            sample="LOYALTY",
        ),
        Field(
            "contact",
            gettext_lazy("Contact"),
            FieldType.REFERENCE,
            required=True,
            reference=CONTACT,
            synonyms=("contact code", "customer", "cliente", "codigo do cliente"),
            sample="C000123",
        ),
        Field(
            "joined_on",
            gettext_lazy("Joined on"),
            FieldType.DATE,
            required=True,
            synonyms=("join date", "sign up date", "data de adesao", "aderiu em"),
            sample="2026-01-15",
        ),
        Field(
            "points_balance",
            gettext_lazy("Points balance"),
            FieldType.DECIMAL,
            synonyms=("points", "balance", "pontos", "saldo de pontos"),
            sample="120",
        ),
        Field(
            "is_active",
            gettext_lazy("Active"),
            FieldType.BOOLEAN,
            synonyms=("active", "ativo"),
            sample="yes",
        ),
    )


@register_importer
class RewardSchemeCodeImporter(Importer):
    """Sign-up codes of closed-loop reward schemes (the scheme is usually an input setting)."""

    key = "reward_scheme_codes"
    name = gettext_lazy("Reward scheme codes")
    description = gettext_lazy("Codes contacts use to sign up for closed-loop reward schemes.")
    model = RewardSchemeCode
    match = ("scheme", "code")
    fields = (
        Field(
            "scheme",
            gettext_lazy("Reward scheme"),
            FieldType.REFERENCE,
            required=True,
            reference=REWARD_SCHEME,
            synonyms=("scheme", "scheme code", "programa"),
            sample="CLUB",
        ),
        Field(
            "code",
            gettext_lazy("Code"),
            required=True,
            synonyms=("sign up code", "signup code", "codigo", "codigo de adesao"),
            sample="CLUB-7F3K9",
        ),
        Field(
            "used_at",
            gettext_lazy("Used at"),
            FieldType.DATETIME,
            synonyms=("used on", "usado em"),
        ),
    )


@register_importer
class PaymentGatewayRequestImporter(Importer):
    """Charges sent to payment gateways and their answers."""

    key = "payment_gateway_requests"
    name = gettext_lazy("Payment gateway requests")
    description = gettext_lazy("Charges sent to a payment gateway and their answers.")
    model = PaymentGatewayRequest
    match = ("reference",)
    fields = (
        Field(
            "reference",
            gettext_lazy("Reference"),
            required=True,
            synonyms=("request reference", "transaction id", "referencia", "id da transacao"),
            sample="PGR-000001",
        ),
        Field(
            "gateway",
            gettext_lazy("Gateway"),
            required=True,
            synonyms=("payment gateway", "provider", "gateway de pagamento", "adquirente"),
            sample="stripe",
        ),
        Field(
            "contact",
            gettext_lazy("Contact"),
            FieldType.REFERENCE,
            required=True,
            reference=CONTACT,
            synonyms=("contact code", "customer", "cliente", "codigo do cliente"),
            sample="C000123",
        ),
        Field(
            "invoice",
            gettext_lazy("Invoice"),
            FieldType.REFERENCE,
            reference=INVOICE,
            synonyms=("invoice code", "invoice number", "fatura", "numero da fatura"),
        ),
        Field(
            "amount",
            gettext_lazy("Amount"),
            FieldType.DECIMAL,
            required=True,
            synonyms=("value", "valor", "montante"),
            sample="59.90",
        ),
        Field("currency", gettext_lazy("Currency"), synonyms=("moeda",), sample="EUR"),
        Field(
            "state",
            gettext_lazy("State"),
            FieldType.CHOICE,
            choices=PaymentGatewayRequestState,
            synonyms=("status", "situacao", "estado"),
            sample="pending",
        ),
        Field(
            "requested_at",
            gettext_lazy("Requested at"),
            FieldType.DATETIME,
            required=True,
            synonyms=("request date", "date", "data", "data da solicitacao"),
            sample="2026-03-01 10:15",
        ),
        Field(
            "responded_at",
            gettext_lazy("Responded at"),
            FieldType.DATETIME,
            synonyms=("response date", "data da resposta"),
        ),
        Field(
            "response_code",
            gettext_lazy("Response code"),
            synonyms=("codigo de resposta",),
        ),
        Field(
            "response_message",
            gettext_lazy("Response message"),
            synonyms=("mensagem de resposta",),
        ),
    )

    def check_row(self, values: Mapping[str, Any], *, creating: bool) -> dict[str, str]:
        amount = values.get("amount")
        if amount is not None and amount <= Decimal(0):
            return {"amount": _("The amount must be positive.")}
        return _currency_error(values)
