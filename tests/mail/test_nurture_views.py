"""The nurture sequence pages: listed, created and edited with their steps; errors name the
step; operators may read, not write."""

from __future__ import annotations

from html import unescape

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import translation

from nightshift.mail import actions
from nightshift.mail.models import EmailTemplate, NurtureSequence


@pytest.fixture
def as_admin(client, administrator):
    client.force_login(administrator)
    return client


@pytest.fixture
def templates(db):
    return [
        EmailTemplate.objects.create(
            code=f"n{n}", name=f"Nurture {n}", subject="Hi {{ first_name }}", body_text="."
        )
        for n in (1, 2, 3)
    ]


def _post(close_after="7", rows=(("0", "n1"), ("3", "n2")), **fields):
    data = {
        "code": "P2",
        "name": "Nurture P2",
        "close_after_days": close_after,
        "active": "on",
        "steps-TOTAL_FORMS": str(len(rows)),
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "50",
        **fields,
    }
    for index, (days, code) in enumerate(rows):
        data[f"steps-{index}-delay_days"] = days
        data[f"steps-{index}-template"] = code
    return data


def test_administrator_creates_a_sequence_with_its_steps(as_admin, templates):
    response = as_admin.post(
        reverse("mail:sequence_create"), _post(rows=[("0", "n1"), ("", ""), ("3", "n2")])
    )
    assert response.status_code == 302
    sequence = NurtureSequence.objects.get(code="P2")
    steps = list(sequence.steps.values_list("position", "delay_days", "template__code"))
    assert steps == [(1, 0, "n1"), (2, 3, "n2")]
    listing = as_admin.get(reverse("mail:sequences")).text
    assert 'data-sequence="P2"' in listing


def test_editing_replaces_the_steps(as_admin, administrator, templates):
    actions.save_sequence(
        user=administrator,
        code="P2",
        name="Nurture P2",
        steps=[(0, "n1"), (3, "n2")],
    )
    sequence = NurtureSequence.objects.get()
    url = reverse("mail:sequence_edit", args=[sequence.pk])
    page = as_admin.get(url).text
    assert 'value="n2" selected' in page
    response = as_admin.post(url, _post(rows=[("1", "n3")], name="Renamed"))
    assert response.status_code == 302
    sequence.refresh_from_db()
    assert sequence.name == "Renamed"
    assert list(sequence.steps.values_list("position", "delay_days", "template__code")) == [
        (1, 1, "n3")
    ]


def test_a_later_step_sent_the_same_day_is_refused_naming_the_step(as_admin, templates):
    response = as_admin.post(
        reverse("mail:sequence_create"), _post(rows=[("0", "n1"), ("0", "n2")])
    )
    assert response.status_code == 400
    assert "Step 2: only the first step may be sent the day the lead joins" in unescape(
        response.text
    )
    assert not NurtureSequence.objects.exists()


def test_a_sequence_without_steps_or_with_a_taken_code_is_refused(as_admin, templates):
    response = as_admin.post(reverse("mail:sequence_create"), _post(rows=[]))
    assert "A sequence needs at least one step." in unescape(response.text)
    as_admin.post(reverse("mail:sequence_create"), _post())
    again = as_admin.post(reverse("mail:sequence_create"), _post())
    assert again.status_code == 400
    assert NurtureSequence.objects.count() == 1


def test_action_names_an_unknown_template(administrator, templates):
    with pytest.raises(ValidationError) as error:
        actions.save_sequence(user=administrator, code="X", name="X", steps=[(0, "nope")])
    assert error.value.message_dict["steps"] == [
        "Step 1: there is no e-mail template with the code “nope”."
    ]


def test_operators_read_but_do_not_write(client, operator, templates):
    client.force_login(operator)
    assert client.get(reverse("mail:sequences")).status_code == 200
    assert client.get(reverse("mail:sequence_create")).status_code == 403
    with pytest.raises(PermissionDenied):
        actions.save_sequence(user=operator, code="X", name="X", steps=[(0, "n1")])


def test_the_list_is_translated(as_admin, templates):
    # The middleware activates the language for the thread; override puts English back.
    with translation.override("en"):
        html = as_admin.get(reverse("mail:sequences"), HTTP_ACCEPT_LANGUAGE="pt-br").text
    assert "Sequências de nutrição" in html
    assert "Nenhuma sequência de nutrição ainda." in html
