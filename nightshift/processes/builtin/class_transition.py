"""Class transition (TOTVS "Transição de Classe", program crm251).

Moves customers between commercial classes when a transition rule's trigger is met. The rules
(from class, to class, trigger, amount, months) are maintained on their own screen (Class
transition rules, nightshift/erp); this routine only chooses which contacts — all, or an
audience — are evaluated, and when. Purchases come from the ERP connector.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import ConfigDict

from nightshift.crm.choices import ClassTransitionTrigger
from nightshift.crm.models import ClassTransition, ClassTransitionRule, Contact
from nightshift.erp.connectors import PurchaseTotal, split_errors
from nightshift.erp.routines import AccountRoutine, AudienceParameters
from nightshift.processes.base import Outcome, ProcessFailed
from nightshift.processes.registry import register

__all__ = ["ClassTransitionProcess", "rule_met"]

NOTHING = PurchaseTotal()


class ClassTransitionParameters(AudienceParameters):
    """Criteria of a "class transition" run definition."""

    model_config = ConfigDict(extra="forbid", title="Class transition")


def window_start(as_of: datetime.date, months: int) -> datetime.date:
    """The first day of the last ``months`` months up to ``as_of``.

    >>> window_start(datetime.date(2026, 3, 31), 1)
    datetime.date(2026, 3, 1)
    """
    return as_of - relativedelta(months=months) + datetime.timedelta(days=1)


def rule_met(
    rule: ClassTransitionRule,
    total: PurchaseTotal,
    *,
    created_on: datetime.date,
    as_of: datetime.date,
) -> bool:
    """Whether ``rule``'s trigger holds for a contact whose purchases in the rule's window
    are ``total``. "No purchase for N months" needs the contact to have existed for the whole
    window: a contact created last week has not gone N months without buying."""
    if rule.trigger == ClassTransitionTrigger.PURCHASES_AT_LEAST:
        return total.amount >= (rule.amount or Decimal(0))
    return total.count == 0 and created_on < window_start(as_of, rule.months)


@register
class ClassTransitionProcess(AccountRoutine):
    """Move each contact whose class has an active rule whose trigger is met.

    Candidates: contacts (all, or the audience's) whose class is the "from" class of an active
    rule. Rules of a class are tried in their screen's order (rank of the from class, then
    name) and the first whose trigger is met moves the contact — one step per run, so a
    contact climbs Bronze → Silver → Gold over successive runs, never two classes at once. Each
    move is recorded as a class transition naming the rule. A contact no rule moves is left as
    it is, so running again the same day moves no one twice.
    """

    key = "accounts.class_transition"
    name = gettext_lazy("Class transition")
    description = gettext_lazy(
        "Moves customers to another class when a class transition rule's trigger is met "
        "(accumulated purchases at least an amount within N months, or no purchase for N months)."
    )
    Parameters = ClassTransitionParameters
    # The 1st of each month at 04:00, once the month's purchases are in.
    default_agenda = {
        "mode": "advanced",
        "start": "2026-01-01T04:00",
        "repeat": {"monthly": {"every": 1, "day": 1}},
    }

    def __init__(self) -> None:
        super().__init__()
        self._rules: dict[int, list[ClassTransitionRule]] | None = None

    @property
    def rules(self) -> dict[int, list[ClassTransitionRule]]:
        """Active rules by from-class id, in the screen's order (read once per run)."""
        if self._rules is None:
            rules: dict[int, list[ClassTransitionRule]] = defaultdict(list)
            for rule in ClassTransitionRule.objects.filter(is_active=True).select_related(
                "from_class", "to_class"
            ):
                rules[rule.from_class_id].append(rule)
            self._rules = dict(rules)
        return self._rules

    def candidates(self, params: dict[str, Any], *, as_of: datetime.date) -> QuerySet:
        return super().candidates(params, as_of=as_of).filter(customer_class__in=list(self.rules))

    def count(self, params: dict[str, Any], *, as_of: datetime.date, after: int) -> int:
        if not self.rules:
            raise ProcessFailed(
                _(
                    "There is no active class transition rule, so no contact can change class. "
                    "Create or activate rules on the Class transition rules screen."
                )
            )
        return super().count(params, as_of=as_of, after=after)

    def process_batch(
        self,
        params: dict[str, Any],
        ids: list[int],
        *,
        as_of: datetime.date,
        run_number: int | None,
    ) -> list[Outcome]:
        """1. Read the batch's contacts (locked) with their class and creation date.
        2. Ask the ERP once per distinct rule window (months) for the batch's purchases.
        3. Move the contacts with one UPDATE per (from, to) pair and record the transitions
           with one INSERT. Queries depend on the number of rules, never on the batch size."""
        rows = list(
            self.candidates(params, as_of=as_of)
            .filter(pk__in=ids)
            .select_for_update()
            .values_list("pk", "code", "customer_class_id", "created_at")
        )
        codes = {pk: code for pk, code, _class, _created in rows}
        outcomes = self._gone(ids, codes)
        windows = {
            rule.months
            for _pk, _code, class_id, _created in rows
            for rule in self.rules.get(class_id, ())
        }
        totals: dict[int, dict[int, PurchaseTotal]] = {}
        invalid: dict[int, str] = {}
        for months in sorted(windows):
            answers = self.connector.purchase_totals(
                codes, since=window_start(as_of, months), as_of=as_of
            )
            totals[months], bad = split_errors(answers)
            invalid.update(bad)

        moves: dict[ClassTransitionRule, list[int]] = defaultdict(list)
        stays = _("stays in %(class)s: no rule's trigger met")
        for pk, _code, class_id, created_at in rows:
            if pk in invalid:
                outcomes[pk] = Outcome(pk, ok=False, message=invalid[pk])
                continue
            created_on = timezone.localdate(created_at)
            rules = self.rules.get(class_id, [])
            for rule in rules:
                total = totals[rule.months].get(pk, NOTHING)
                if rule_met(rule, total, created_on=created_on, as_of=as_of):
                    moves[rule].append(pk)
                    outcomes[pk] = Outcome(pk, ok=True, message=self._moved(rule, total))
                    break
            else:
                outcomes[pk] = Outcome(
                    pk, ok=True, message=stays % {"class": rules[0].from_class.name}
                )
        if moves:
            self._move(moves)
        return [outcomes[pk] for pk in ids]

    @staticmethod
    def _moved(rule: ClassTransitionRule, total: PurchaseTotal) -> str:
        if rule.trigger == ClassTransitionTrigger.PURCHASES_AT_LEAST:
            why = _("purchases of %(amount)s in %(months)s months reach %(threshold)s") % {
                "amount": total.amount,
                "months": rule.months,
                "threshold": rule.amount,
            }
        else:
            why = _("no purchase for %(months)s months") % {"months": rule.months}
        return _("moved from %(from)s to %(to)s by rule “%(rule)s”: %(why)s") % {
            "from": rule.from_class.name,
            "to": rule.to_class.name,
            "rule": rule.name,
            "why": why,
        }

    @staticmethod
    def _move(moves: dict[ClassTransitionRule, list[int]]) -> None:
        now = timezone.now()
        by_pair: dict[tuple[int, int], list[int]] = defaultdict(list)
        for rule, pks in moves.items():
            by_pair[(rule.from_class_id, rule.to_class_id)].extend(pks)
        for (from_id, to_id), pks in by_pair.items():
            Contact.objects.filter(pk__in=pks, customer_class_id=from_id).update(
                customer_class_id=to_id, updated_at=now
            )
        ClassTransition.objects.bulk_create(
            ClassTransition(
                contact_id=pk,
                rule=rule,
                from_class_id=rule.from_class_id,
                to_class_id=rule.to_class_id,
                transitioned_at=now,
            )
            for rule, pks in moves.items()
            for pk in pks
        )
