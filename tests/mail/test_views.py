"""The mail pages: templates listed, filtered, created, edited and previewed; the suppression
list filtered, added to and removed from; operators may read, not write."""

from __future__ import annotations

from html import unescape

import pytest
from django.urls import reverse

from nightshift.crm.models import Contact
from nightshift.mail.models import EmailTemplate, SuppressionEntry


@pytest.fixture
def as_admin(client, administrator):
    client.force_login(administrator)
    return client


@pytest.fixture
def as_operator(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def templates(db):
    return [
        EmailTemplate.objects.create(
            code="bday",
            name="Birthday",
            language="en",
            subject="Hi {{ first_name }}",
            body_text="Dear {{ full_name }}",
            body_html="<p>Dear <b>{{ full_name }}</b></p>",
        ),
        EmailTemplate.objects.create(
            code="bday-pt",
            name="Aniversário",
            language="pt-br",
            subject="Olá {{ first_name }}",
            body_text="Olá",
            is_active=False,
        ),
    ]


def test_template_list_filters_by_text_language_and_state(as_operator, templates):
    url = reverse("mail:templates")
    assert 'data-template="bday"' in as_operator.get(url).text
    shown = as_operator.get(url, {"q": "aniv"}).text
    assert 'data-template="bday-pt"' in shown
    assert 'data-template="bday"' not in shown
    assert 'data-template="bday"' in as_operator.get(url, {"language": "EN"}).text
    inactive = as_operator.get(url, {"active": "no"}).text
    assert 'data-template="bday-pt"' in inactive
    assert 'data-template="bday"' not in inactive


def test_list_pages_keep_a_query_budget(as_operator, templates, django_assert_max_num_queries):
    for n in range(30):
        SuppressionEntry.objects.create(email=f"s{n}@example.com")
    with django_assert_max_num_queries(8):
        as_operator.get(reverse("mail:templates"))
    with django_assert_max_num_queries(8):
        as_operator.get(reverse("mail:suppressions"))


def test_preview_fills_placeholders_from_a_chosen_contact(as_operator, templates):
    Contact.objects.create(
        code="C-9", first_name="Iná", last_name="<Souza>", email="ina@example.com"
    )
    response = as_operator.get(
        reverse("mail:template_preview", args=[templates[0].pk]), {"contact": "C-9"}
    )
    html = response.text
    assert "Hi Iná" in html
    assert "Dear Iná &lt;Souza&gt;" in html  # text part, escaped by the page
    # The HTML part escapes the value once, then srcdoc escapes the whole document again.
    assert "&lt;b&gt;Iná &amp;lt;Souza&amp;gt;&lt;/b&gt;" in html


def test_preview_without_contacts_uses_a_sample(as_operator, templates):
    html = as_operator.get(reverse("mail:template_preview", args=[templates[0].pk])).text
    assert "Hi Joana" in html


def test_preview_names_an_unknown_contact(as_operator, templates):
    response = as_operator.get(
        reverse("mail:template_preview", args=[templates[0].pk]), {"contact": "NOPE"}
    )
    assert "There is no contact with the code “NOPE”." in unescape(response.text)


def test_preview_warns_about_placeholders_a_contact_does_not_offer(as_operator, db):
    template = EmailTemplate.objects.create(
        code="x", name="x", subject="{{ frist_name }}", body_text="."
    )
    html = as_operator.get(reverse("mail:template_preview", args=[template.pk])).text
    assert "data-unknown-placeholders" in html
    assert "frist_name" in html


def test_administrator_creates_a_template(as_admin, db):
    response = as_admin.post(
        reverse("mail:template_create"),
        {
            "code": "welcome",
            "name": "Welcome",
            "subject": "Welcome {{ first_name }}",
            "body_text": "Hello",
            "body_html": "",
            "is_active": "on",
        },
    )
    template = EmailTemplate.objects.get(code="welcome")
    assert response.status_code == 302
    assert response.url == reverse("mail:template_preview", args=[template.pk])


def test_broken_placeholder_is_refused_next_to_its_field(as_admin, templates):
    response = as_admin.post(
        reverse("mail:template_edit", args=[templates[0].pk]),
        {
            "code": "bday",
            "name": "Birthday",
            "subject": "Hi {% if %}",
            "body_text": "x",
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert 'data-field="subject"' in response.text
    assert "This placeholder text cannot be read" in unescape(response.text)
    templates[0].refresh_from_db()
    assert templates[0].subject == "Hi {{ first_name }}"


def test_forbidden_tags_are_refused(as_admin, templates):
    response = as_admin.post(
        reverse("mail:template_edit", args=[templates[0].pk]),
        {
            "code": "bday",
            "name": "B",
            "subject": "s",
            "body_text": "{% debug %}",
            "is_active": "on",
        },
    )
    assert "This placeholder text cannot be read" in unescape(response.text)


def test_duplicate_code_is_refused(as_admin, templates):
    response = as_admin.post(
        reverse("mail:template_create"),
        {"code": "bday", "name": "Again", "subject": "s", "body_text": "t"},
    )
    assert response.status_code == 200
    assert EmailTemplate.objects.filter(code="bday").count() == 1


def test_operator_may_not_edit_templates(as_operator, templates):
    assert as_operator.get(reverse("mail:template_create")).status_code == 403
    assert (
        as_operator.post(reverse("mail:template_edit", args=[templates[0].pk]), {}).status_code
        == 403
    )


def test_outsider_may_not_read_templates(client, outsider, templates):
    client.force_login(outsider)
    assert client.get(reverse("mail:templates")).status_code == 403


def test_suppression_list_filters(as_operator, db):
    contact = Contact.objects.create(code="C-1", first_name="Ana", email="ana@example.com")
    SuppressionEntry.objects.create(email="ana@example.com", reason="rejected", contact=contact)
    SuppressionEntry.objects.create(email="bounce@example.com", reason="hard bounce")
    url = reverse("mail:suppressions")
    linked = as_operator.get(url, {"linked": "yes"}).text
    assert 'data-suppression="ana@example.com"' in linked
    assert 'data-suppression="bounce@example.com"' not in linked
    assert 'data-suppression="ana@example.com"' not in as_operator.get(url, {"q": "bounce"}).text


def test_administrator_adds_and_removes_an_address(as_admin, db):
    Contact.objects.create(code="C-1", first_name="Ana", email="ana@example.com")
    response = as_admin.post(
        reverse("mail:suppression_add"),
        {"email": " Ana@Example.com ", "reason": "asked", "contact": "C-1"},
    )
    assert response.status_code == 302
    entry = SuppressionEntry.objects.get()
    assert (entry.email, entry.contact.code, entry.created_by.username) == (
        "ana@example.com",
        "C-1",
        "ada",
    )
    response = as_admin.post(reverse("mail:suppression_remove", args=[entry.pk]))
    assert response.status_code == 302
    assert not SuppressionEntry.objects.exists()


def test_bad_address_duplicate_and_unknown_contact_are_named(as_admin, db):
    SuppressionEntry.objects.create(email="dup@example.com")
    bad = as_admin.post(reverse("mail:suppression_add"), {"email": "nope"})
    assert bad.status_code == 400
    assert "“nope” is not a valid e-mail address." in unescape(bad.text)
    dup = as_admin.post(reverse("mail:suppression_add"), {"email": "DUP@example.com"})
    assert "dup@example.com is already on the suppression list." in unescape(dup.text)
    unknown = as_admin.post(
        reverse("mail:suppression_add"), {"email": "x@example.com", "contact": "C-404"}
    )
    assert "There is no contact with the code “C-404”." in unescape(unknown.text)
    assert SuppressionEntry.objects.count() == 1


def test_operator_may_not_change_the_list(as_operator, db):
    entry = SuppressionEntry.objects.create(email="keep@example.com")
    assert (
        as_operator.post(reverse("mail:suppression_add"), {"email": "a@example.com"}).status_code
        == 403
    )
    assert as_operator.post(reverse("mail:suppression_remove", args=[entry.pk])).status_code == 403
    assert SuppressionEntry.objects.count() == 1
