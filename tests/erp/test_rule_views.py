"""The class transition rules screen: list with filters, create and edit through the action,
the model's rules reported on the field, and who may do what."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from nightshift.crm.choices import ClassTransitionTrigger
from nightshift.crm.models import ClassTransitionRule
from nightshift.runs.models import LogEntry

LIST = "/erp/class-transition-rules/"


@pytest.fixture
def rule(classes):
    return ClassTransitionRule.objects.create(
        name="Bronze to Prata",
        from_class=classes["BRONZE"],
        to_class=classes["SILVER"],
        trigger=ClassTransitionTrigger.PURCHASES_AT_LEAST,
        amount=1000,
        months=12,
    )


@pytest.fixture
def idle_rule(classes):
    return ClassTransitionRule.objects.create(
        name="Ouro idle",
        from_class=classes["GOLD"],
        to_class=classes["SILVER"],
        trigger=ClassTransitionTrigger.NO_PURCHASE_FOR,
        months=6,
        is_active=False,
    )


def names(response) -> list[str]:
    return [r.name for r in response.context["rules"]]


def test_operators_see_the_rules_and_filter_them(client, operator, rule, idle_rule, classes):
    client.force_login(operator)
    assert names(client.get(LIST)) == ["Bronze to Prata", "Ouro idle"]
    assert names(client.get(LIST, {"trigger": "no_purchase_for"})) == ["Ouro idle"]
    assert names(client.get(LIST, {"active": "yes"})) == ["Bronze to Prata"]
    assert names(client.get(LIST, {"from_class": classes["GOLD"].pk})) == ["Ouro idle"]
    assert names(client.get(LIST, {"q": "prata"})) == ["Bronze to Prata"]
    page = client.get(LIST).content.decode()
    assert "New rule" not in page  # operators read; administrators maintain


def test_the_list_costs_the_same_queries_whatever_the_number_of_rules(
    client, administrator, classes
):
    client.force_login(administrator)

    def queries(count: int) -> int:
        ClassTransitionRule.objects.bulk_create(
            ClassTransitionRule(
                name=f"R{n}",
                from_class=classes["BRONZE"],
                to_class=classes["GOLD"],
                trigger=ClassTransitionTrigger.NO_PURCHASE_FOR,
                months=3,
            )
            for n in range(count)
        )
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST).status_code == 200
        return len(captured)

    assert queries(2) == queries(20)


def test_an_administrator_creates_a_rule(client, administrator, classes):
    client.force_login(administrator)
    response = client.post(
        f"{LIST}new/",
        {
            "name": "Prata to Ouro",
            "from_class": classes["SILVER"].pk,
            "to_class": classes["GOLD"].pk,
            "trigger": "purchases_at_least",
            "amount": "5000.00",
            "months": "6",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    rule = ClassTransitionRule.objects.get()
    assert (rule.name, rule.amount, rule.months, rule.is_active) == ("Prata to Ouro", 5000, 6, True)
    assert rule.created_by == administrator
    assert LogEntry.objects.filter(message__contains="created the class transition rule").exists()


def test_the_models_rules_are_reported_on_the_field(client, administrator, classes):
    client.force_login(administrator)
    response = client.post(
        f"{LIST}new/",
        {
            "name": "Nowhere",
            "from_class": classes["SILVER"].pk,
            "to_class": classes["SILVER"].pk,
            "trigger": "purchases_at_least",
            "months": "0",
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "The from and to classes must differ." in errors["__all__"]
    assert "An “accumulated purchases at least” trigger needs an amount." in errors["__all__"]
    assert not ClassTransitionRule.objects.exists()


def test_an_administrator_edits_a_rule_and_a_no_purchase_rule_loses_its_amount(
    client, administrator, rule
):
    client.force_login(administrator)
    response = client.post(
        f"{LIST}{rule.pk}/",
        {
            "name": "Bronze idle",
            "from_class": rule.from_class_id,
            "to_class": rule.to_class_id,
            "trigger": "no_purchase_for",
            "amount": "1000",
            "months": "9",
        },
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.trigger, rule.amount, rule.months, rule.is_active) == (
        "Bronze idle",
        "no_purchase_for",
        None,
        9,
        False,
    )


@pytest.mark.parametrize("path", ["new/", "{pk}/"])
def test_operators_and_outsiders_cannot_change_rules(client, operator, outsider, rule, path):
    url = LIST + path.format(pk=rule.pk)
    client.force_login(operator)
    assert client.get(url).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 403
    assert client.get(LIST).status_code == 403
