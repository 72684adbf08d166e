"""Contacts (the TOTVS "contas"), their classification, audiences and class transitions."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from nightshift.core.models import AuditedModel
from nightshift.crm.choices import ClassTransitionTrigger, ContactKind, ContactStatus


class ContactClassification(AuditedModel):
    """A free classification of contacts (segment, channel, …); imports may create them."""

    name = models.CharField(_("name"), max_length=80, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("contact classification")
        verbose_name_plural = _("contact classifications")

    def __str__(self) -> str:
        return self.name


class CustomerClass(AuditedModel):
    """A commercial class (e.g. Bronze, Silver, Gold) that class transition rules move between."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=80)
    rank = models.PositiveSmallIntegerField(_("rank"), default=0)

    class Meta:
        ordering = ["rank", "name"]
        verbose_name = _("customer class")
        verbose_name_plural = _("customer classes")

    def __str__(self) -> str:
        return self.name


class Contact(AuditedModel):
    """A customer account: a person or a company, with the complementary data synced from the
    ERP by the account complementary data routine."""

    # Unique through Meta.constraints: a unique field would get a second, pattern-ops index on
    # PostgreSQL, which nothing uses (codes are matched whole) and every insert pays.
    code = models.CharField(_("code"), max_length=40)
    kind = models.CharField(
        _("kind"), max_length=16, choices=ContactKind, default=ContactKind.PERSON
    )
    first_name = models.CharField(_("first name"), max_length=80, blank=True)
    last_name = models.CharField(_("last name"), max_length=80, blank=True)
    company_name = models.CharField(_("company name"), max_length=160, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=80, blank=True)
    state_province = models.CharField(_("state / province"), max_length=80, blank=True)
    zip_code = models.CharField(_("zip code"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    classification = models.ForeignKey(
        ContactClassification,
        verbose_name=_("classification"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contacts",
        db_index=False,  # a partial index below
    )
    status = models.CharField(
        _("status"), max_length=20, choices=ContactStatus, default=ContactStatus.ACTIVE
    )
    customer_class = models.ForeignKey(
        CustomerClass,
        verbose_name=_("customer class"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contacts",
        db_index=False,  # a partial index below
    )
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_contacts",
        db_index=False,  # a partial index below
    )
    # Complementary data ("dados complementares"), refreshed from the ERP.
    first_purchase_date = models.DateField(_("first purchase date"), null=True, blank=True)
    first_purchase_amount = models.DecimalField(
        _("first purchase amount"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    last_purchase_date = models.DateField(_("last purchase date"), null=True, blank=True)
    last_purchase_amount = models.DecimalField(
        _("last purchase amount"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    accumulated_purchase_amount = models.DecimalField(
        _("accumulated purchase amount"), max_digits=16, decimal_places=2, default=0
    )
    accumulated_purchase_count = models.PositiveIntegerField(
        _("accumulated purchase count"), default=0
    )
    last_quotation_date = models.DateField(_("last quotation date"), null=True, blank=True)
    days_since_last_purchase = models.PositiveIntegerField(
        _("days since last purchase"), null=True, blank=True
    )
    last_invoice_code = models.CharField(_("last invoice code"), max_length=40, blank=True)
    complementary_data_updated_at = models.DateTimeField(
        _("complementary data updated at"), null=True, blank=True
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            models.Index(fields=["status"], name="crm_contact_status"),
            models.Index(fields=["birth_date"], name="crm_contact_birth_date"),
            models.Index(fields=["last_name", "first_name"], name="crm_contact_name"),
            # No pattern-ops twin on PostgreSQL: e-mails are matched whole, never by prefix.
            models.Index(fields=["email"], name="crm_contact_email"),
            # Most contacts have no classification, class or manager: only those that do are
            # indexed, so a bulk insert of plain contacts writes no entry in these three.
            *(
                models.Index(
                    fields=[link],
                    name=f"crm_contact_{link}",
                    condition=Q(**{f"{link}__isnull": False}),
                )
                for link in ("classification", "customer_class", "account_manager")
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["code"], name="crm_contact_code_unique"),
            models.CheckConstraint(
                condition=~Q(kind=ContactKind.COMPANY) | ~Q(company_name=""),
                name="crm_contact_company_has_name",
                violation_error_message=_("A company contact needs a company name."),
            ),
            models.CheckConstraint(
                condition=~Q(kind=ContactKind.PERSON) | ~Q(first_name="", last_name=""),
                name="crm_contact_person_has_name",
                violation_error_message=_("A person needs a first or a last name."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.display_name}"

    @property
    def display_name(self) -> str:
        if self.kind == ContactKind.COMPANY:
            return self.company_name
        return f"{self.first_name} {self.last_name}".strip()

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)


# Contact fields an audience may filter on, with the lookups allowed for each. A closed list:
# audiences are stored and run unattended, so an unknown field must fail when saved, not at 3 am.
AUDIENCE_FIELDS: dict[str, tuple[str, ...]] = {
    "status": ("exact", "in"),
    "kind": ("exact",),
    "classification__name": ("exact", "in"),
    "customer_class__code": ("exact", "in"),
    "account_manager__username": ("exact", "in"),
    "city": ("exact", "iexact", "in"),
    "state_province": ("exact", "in"),
    "country": ("exact", "in"),
    "birth_date": ("gte", "lte", "isnull"),
    "last_purchase_date": ("gte", "lte", "isnull"),
    "accumulated_purchase_amount": ("gte", "lte"),
    "email": ("isnull", "iendswith"),
}


class Audience(AuditedModel):
    """A saved filter over contacts ("público"): routines run for an audience or for all."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    criteria = models.JSONField(
        _("criteria"),
        default=dict,
        blank=True,
        help_text=_('Contact field lookups, e.g. {"status": "active", "city__iexact": "Recife"}.'),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("audience")
        verbose_name_plural = _("audiences")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not isinstance(self.criteria, dict):
            raise ValidationError({"criteria": _("Criteria must be an object of field lookups.")})
        for key in self.criteria:
            field, _sep, lookup = key.rpartition("__")
            if field not in AUDIENCE_FIELDS or lookup not in AUDIENCE_FIELDS[field]:
                field, lookup = key, "exact"
            if field not in AUDIENCE_FIELDS or lookup not in AUDIENCE_FIELDS[field]:
                raise ValidationError(
                    {
                        "criteria": _("“%(key)s” is not a contact filter an audience can use.")
                        % {"key": key}
                    }
                )

    def contacts(self) -> models.QuerySet[Contact]:
        self.clean()
        return Contact.objects.filter(**self.criteria)


class ClassTransitionRule(AuditedModel):
    """Moves contacts from one customer class to another when a purchase trigger is met."""

    name = models.CharField(_("name"), max_length=120)
    from_class = models.ForeignKey(
        CustomerClass,
        verbose_name=_("from class"),
        on_delete=models.PROTECT,
        related_name="transition_rules_out",
    )
    to_class = models.ForeignKey(
        CustomerClass,
        verbose_name=_("to class"),
        on_delete=models.PROTECT,
        related_name="transition_rules_in",
    )
    trigger = models.CharField(_("trigger"), max_length=32, choices=ClassTransitionTrigger)
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    months = models.PositiveSmallIntegerField(_("within / for months"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["from_class__rank", "name"]
        verbose_name = _("class transition rule")
        verbose_name_plural = _("class transition rules")
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_class=models.F("to_class")),
                name="crm_transition_rule_changes_class",
                violation_error_message=_("The from and to classes must differ."),
            ),
            models.CheckConstraint(
                condition=~Q(trigger=ClassTransitionTrigger.PURCHASES_AT_LEAST)
                | Q(amount__isnull=False),
                name="crm_transition_rule_amount_for_purchases",
                violation_error_message=_(
                    "An “accumulated purchases at least” trigger needs an amount."
                ),
            ),
            models.CheckConstraint(
                condition=Q(months__gte=1),
                name="crm_transition_rule_months_positive",
                violation_error_message=_("The number of months must be at least 1."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ClassTransition(AuditedModel):
    """A recorded move of one contact between classes, by a rule (the history of classes)."""

    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="transitions"
    )
    rule = models.ForeignKey(
        ClassTransitionRule,
        verbose_name=_("rule"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="transitions",
    )
    from_class = models.ForeignKey(
        CustomerClass,
        verbose_name=_("from class"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    to_class = models.ForeignKey(
        CustomerClass, verbose_name=_("to class"), on_delete=models.PROTECT, related_name="+"
    )
    transitioned_at = models.DateTimeField(_("transitioned at"))

    class Meta:
        ordering = ["-transitioned_at"]
        verbose_name = _("class transition")
        verbose_name_plural = _("class transitions")

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.from_class_id} → {self.to_class_id}"
