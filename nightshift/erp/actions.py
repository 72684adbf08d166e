"""Every write of the ERP app: class transition rules, created and changed on their screen."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from nightshift.core.audit import acting_as
from nightshift.crm.choices import ClassTransitionTrigger
from nightshift.crm.models import ClassTransitionRule
from nightshift.runs.actions import log
from nightshift.runs.models import LogEntry

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser

__all__ = ["ADD_RULE", "CHANGE_RULE", "save_transition_rule"]

ADD_RULE = "crm.add_classtransitionrule"
CHANGE_RULE = "crm.change_classtransitionrule"
RULE_FIELDS = ("name", "from_class", "to_class", "trigger", "amount", "months", "is_active")


def save_transition_rule(
    *, user: AbstractUser, rule: ClassTransitionRule | None = None, **data: Any
) -> ClassTransitionRule:
    """Create a class transition rule, or change ``rule``, with ``data`` (the fields of
    ``RULE_FIELDS``). Validates the model's constraints (from and to classes differ; an amount
    for "accumulated purchases at least"; at least one month) and raises ``ValidationError``
    naming the field; writes the daily log."""
    permission = CHANGE_RULE if rule else ADD_RULE
    if not user.has_perm(permission):
        raise PermissionDenied(_("You may not maintain class transition rules."))
    rule = rule or ClassTransitionRule()
    for name in RULE_FIELDS:
        if name in data:
            setattr(rule, name, data[name])
    if rule.trigger != ClassTransitionTrigger.PURCHASES_AT_LEAST:
        rule.amount = None  # only "accumulated purchases at least" has an amount
    with acting_as(user), transaction.atomic():
        rule.full_clean()
        created = rule.pk is None
        rule.save()
        message = (
            _("%(user)s created the class transition rule “%(rule)s”.")
            if created
            else _("%(user)s changed the class transition rule “%(rule)s”.")
        )
        log(message % {"user": user, "rule": rule.name}, source=LogEntry.Source.OPERATOR, user=user)
    return rule
