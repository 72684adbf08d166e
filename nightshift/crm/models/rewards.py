"""Rewards: schemes, the codes to join closed-loop schemes, participants and vouchers."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from nightshift.core.models import AuditedModel
from nightshift.crm.choices import VoucherState


class RewardScheme(AuditedModel):
    """A loyalty scheme; a closed-loop scheme is joined only with one of its codes."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    is_closed_loop = models.BooleanField(_("closed loop"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("reward scheme")
        verbose_name_plural = _("reward schemes")

    def __str__(self) -> str:
        return self.name


class RewardSchemeCode(AuditedModel):
    """A sign-up code of a closed-loop reward scheme, used at most once."""

    scheme = models.ForeignKey(
        RewardScheme,
        verbose_name=_("reward scheme"),
        on_delete=models.CASCADE,
        related_name="codes",
    )
    code = models.CharField(_("code"), max_length=60)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        ordering = ["scheme", "code"]
        verbose_name = _("reward scheme code")
        verbose_name_plural = _("reward scheme codes")
        constraints = [
            models.UniqueConstraint(
                fields=["scheme", "code"],
                name="crm_reward_scheme_code_unique",
                violation_error_message=_("This code already exists in the reward scheme."),
            ),
        ]

    def __str__(self) -> str:
        return self.code


class RewardParticipant(AuditedModel):
    """A contact taking part in a reward scheme."""

    scheme = models.ForeignKey(
        RewardScheme,
        verbose_name=_("reward scheme"),
        on_delete=models.PROTECT,
        related_name="participants",
    )
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        related_name="reward_participations",
    )
    sign_up_code = models.ForeignKey(
        RewardSchemeCode,
        verbose_name=_("sign-up code"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    joined_on = models.DateField(_("joined on"))
    points_balance = models.DecimalField(
        _("points balance"), max_digits=14, decimal_places=2, default=0
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["scheme", "contact"]
        verbose_name = _("reward participant")
        verbose_name_plural = _("reward participants")
        constraints = [
            models.UniqueConstraint(
                fields=["scheme", "contact"],
                name="crm_reward_participant_once",
                violation_error_message=_("The contact already takes part in this scheme."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.scheme_id}"


class Voucher(AuditedModel):
    """A prepaid or promotional voucher with a value and a validity window."""

    code = models.CharField(_("code"), max_length=60, unique=True)
    state = models.CharField(
        _("state"), max_length=16, choices=VoucherState, default=VoucherState.CREATED
    )
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="vouchers",
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"))
    redeemed_at = models.DateTimeField(_("redeemed at"), null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")
        indexes = [models.Index(fields=["state", "valid_to"], name="crm_voucher_state_valid")]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__gte=models.F("valid_from")),
                name="crm_voucher_valid_window",
                violation_error_message=_("A voucher cannot expire before it becomes valid."),
            ),
            models.CheckConstraint(
                condition=Q(value__gt=0),
                name="crm_voucher_value_positive",
                violation_error_message=_("The voucher value must be positive."),
            ),
            models.CheckConstraint(
                condition=~Q(state=VoucherState.REDEEMED) | Q(redeemed_at__isnull=False),
                name="crm_voucher_redeemed_has_date",
                violation_error_message=_("A redeemed voucher needs its redemption date."),
            ),
        ]

    def __str__(self) -> str:
        return self.code
