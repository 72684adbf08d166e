"""Mailboxes: the pages, the actions, the admin (the secret is never shown back), the
process's parameters and its place on the automatic agenda."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from nightshift.inbox import actions
from nightshift.inbox.choices import AuthMethod, Security, TokenSource
from nightshift.inbox.models import Mailbox
from nightshift.inbox.processes import SyncMailboxes
from nightshift.processes.base import ParameterError
from nightshift.processes.registry import get_process
from nightshift.runs.actions import agenda_schedule

SECRET = "s3cr3t-app-token"
FIELDS = {
    "name": "Sales",
    "host": "imap.example.test",
    "port": 993,
    "security": Security.TLS,
    "username": "sales@example.test",
    "auth_method": AuthMethod.PASSWORD,
    "secret": SECRET,
    "folders": "INBOX",
    "is_active": True,
}


@pytest.fixture
def mailbox(administrator) -> Mailbox:
    return actions.create_mailbox(user=administrator, **FIELDS)


@pytest.fixture
def admin_client(client: Client, administrator) -> Client:
    client.force_login(administrator)
    return client


# -- actions ---------------------------------------------------------------------------------


def test_creating_a_mailbox_needs_the_permission(operator):
    with pytest.raises(PermissionDenied):
        actions.create_mailbox(user=operator, **FIELDS)


def test_a_password_mailbox_without_a_password_is_refused(administrator):
    with pytest.raises(ValidationError) as error:
        actions.create_mailbox(user=administrator, **{**FIELDS, "secret": ""})
    assert error.value.message_dict == {"secret": ["Enter the password or app token."]}


def test_oauth2_from_a_file_needs_the_file_but_no_secret(administrator):
    oauth = {**FIELDS, "auth_method": AuthMethod.OAUTH2, "secret": ""}
    with pytest.raises(ValidationError) as error:
        actions.create_mailbox(user=administrator, **oauth, token_source=TokenSource.FILE)
    assert list(error.value.message_dict) == ["token_reference"]
    mailbox = actions.create_mailbox(
        user=administrator, **oauth, token_source=TokenSource.FILE, token_reference="/run/tok"
    )
    assert mailbox.secret == ""


def test_editing_with_an_empty_secret_keeps_the_stored_one(administrator, mailbox):
    actions.edit_mailbox(user=administrator, pk=mailbox.pk, secret="", folders="INBOX, Sent")
    mailbox.refresh_from_db()
    assert mailbox.secret == SECRET
    assert mailbox.folder_names() == ["INBOX", "Sent"]
    actions.edit_mailbox(user=administrator, pk=mailbox.pk, secret="new")
    mailbox.refresh_from_db()
    assert mailbox.secret == "new"


def test_a_mailbox_needs_a_folder(administrator):
    with pytest.raises(ValidationError) as error:
        actions.create_mailbox(user=administrator, **{**FIELDS, "folders": " , "})
    assert list(error.value.message_dict) == ["folders"]


# -- pages -----------------------------------------------------------------------------------


def test_the_list_filters_by_status_and_text(admin_client, administrator, mailbox):
    actions.create_mailbox(user=administrator, **{**FIELDS, "name": "Old", "is_active": False})
    Mailbox.objects.filter(name="Old").update(last_error="Mailbox “Old”: cannot connect")
    url = reverse("inbox:mailboxes")
    assert 'data-mailbox="Sales"' in admin_client.get(url).content.decode()
    inactive = admin_client.get(url, {"status": "inactive"}).content.decode()
    assert 'data-mailbox="Old"' in inactive
    assert 'data-mailbox="Sales"' not in inactive
    failing = admin_client.get(url, {"status": "error"}).content.decode()
    assert 'data-mailbox="Old"' in failing
    assert "cannot connect" in failing
    assert 'data-mailbox="Sales"' not in admin_client.get(url, {"q": "old"}).content.decode()


def test_the_pages_never_show_the_secret(admin_client, mailbox):
    for url in (reverse("inbox:mailboxes"), reverse("inbox:mailbox_edit", args=[mailbox.pk])):
        assert SECRET not in admin_client.get(url).content.decode()
    admin_url = reverse("admin:inbox_mailbox_change", args=[mailbox.pk])
    assert SECRET not in admin_client.get(admin_url).content.decode()


def test_creating_and_editing_through_the_pages(admin_client):
    data = {**FIELDS, "port": "993", "is_active": "on"}
    response = admin_client.post(reverse("inbox:mailbox_create"), data)
    assert response.status_code == 302
    mailbox = Mailbox.objects.get(name="Sales")
    data["secret"] = ""
    data["host"] = "imap2.example.test"
    response = admin_client.post(reverse("inbox:mailbox_edit", args=[mailbox.pk]), data)
    assert response.status_code == 302
    mailbox.refresh_from_db()
    assert (mailbox.host, mailbox.secret) == ("imap2.example.test", SECRET)


def test_a_bad_form_shows_the_error_next_to_the_field(admin_client, mailbox):
    response = admin_client.post(reverse("inbox:mailbox_create"), {**FIELDS, "secret": ""})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Mailbox with this Name already exists." in html
    assert "Enter the password or app token." in html
    response = admin_client.post(reverse("inbox:mailbox_create"), {**FIELDS, "port": "70000"})
    assert "Ensure this value is less than or equal to 65535." in response.content.decode()


def test_the_pages_are_in_brazilian_portuguese(admin_client, mailbox):
    admin_client.cookies["django_language"] = "pt-br"
    html = admin_client.get(reverse("inbox:mailboxes"), HTTP_ACCEPT_LANGUAGE="pt-br").content
    assert "Caixas de correio" in html.decode()


def test_operators_may_not_see_the_mailboxes(client: Client, operator):
    client.force_login(operator)
    assert client.get(reverse("inbox:mailboxes")).status_code == 403


def test_the_admin_keeps_the_secret_when_left_empty(admin_client, mailbox):
    url = reverse("admin:inbox_mailbox_change", args=[mailbox.pk])
    data = {
        **FIELDS,
        "name": "Sales desk",
        "secret": "",
        "token_source": TokenSource.STORED,
        "token_reference": "",
        "email_address": "",
        "is_active": "on",
        "folder_states-TOTAL_FORMS": "0",
        "folder_states-INITIAL_FORMS": "0",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    mailbox.refresh_from_db()
    assert (mailbox.name, mailbox.secret) == ("Sales desk", SECRET)


# -- the process -----------------------------------------------------------------------------


def test_the_process_is_registered_and_on_the_agenda_every_five_minutes(db):
    assert get_process("inbox.sync_mailboxes") is SyncMailboxes
    schedule = agenda_schedule(SyncMailboxes.key)
    assert (schedule["mode"], schedule["every"], schedule["unit"]) == ("repeat", 5, "minutes")


def test_unknown_mailboxes_in_the_criteria_are_refused(mailbox):
    with pytest.raises(ParameterError) as error:
        SyncMailboxes.validate_parameters({"mailboxes": ["Sales", "Nope"]})
    assert error.value.errors == {"mailboxes": "Unknown mailboxes: Nope."}


def test_candidates_are_the_active_mailboxes_named(administrator, mailbox):
    other = actions.create_mailbox(user=administrator, **{**FIELDS, "name": "Support"})
    actions.create_mailbox(user=administrator, **{**FIELDS, "name": "Off", "is_active": False})
    process = SyncMailboxes()
    everyone = process.candidates(SyncMailboxes.validate_parameters({}), as_of=None)
    assert list(everyone) == [mailbox, other]
    named = SyncMailboxes.validate_parameters({"mailboxes": ["Support"]})
    assert list(process.candidates(named, as_of=None)) == [other]


def test_a_mailbox_deactivated_since_it_was_selected_is_an_error(administrator, mailbox):
    Mailbox.objects.filter(pk=mailbox.pk).update(is_active=False)
    (outcome,) = SyncMailboxes().process_batch({}, [mailbox.pk], as_of=None, run_number=None)
    assert not outcome.ok
    assert "no longer active" in outcome.message
