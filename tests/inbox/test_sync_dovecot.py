"""The inbound e-mail process against a real Dovecot IMAP server: storing once, high-water
marks, linking, threading, the CRM-sent tag, encoded words, OAuth2 and unreachable mailboxes."""

from __future__ import annotations

import datetime

import pytest

from nightshift.crm.models import Contact, Lead
from nightshift.inbox.choices import AuthMethod, TokenSource
from nightshift.inbox.models import Mailbox, MailboxFolder
from nightshift.inbox.processes import SyncMailboxes
from nightshift.mail.models import EmailDirection, EmailMessage
from nightshift.runs import actions, engine
from nightshift.runs.models import ApplicationServer, RunItem, RunState, SchedulerState
from nightshift.runs.scheduler import fire_due
from nightshift.runs.workers import registered
from tests.inbox.conftest import mail

pytestmark = pytest.mark.imap

TODAY = datetime.date(2026, 11, 30)
MONDAY = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=datetime.UTC)


def sync(*mailboxes: Mailbox, **params):
    normalised = SyncMailboxes.validate_parameters(params)
    return SyncMailboxes().process_batch(
        normalised, [m.pk for m in mailboxes], as_of=TODAY, run_number=None
    )


def stored() -> set[str]:
    return set(EmailMessage.objects.values_list("message_id", flat=True))


# -- storing once ----------------------------------------------------------------------------


def test_first_sync_stores_every_message_and_the_second_stores_nothing(make_mailbox, dovecot):
    mailbox = make_mailbox()
    dovecot.deliver(
        mailbox.username,
        *(mail(message_id=f"<m{n}@example.com>", subject=f"Order {n}") for n in range(3)),
    )
    (first,) = sync(mailbox)
    assert first.ok, first.message
    assert "3 messages read, 3 new stored" in first.message
    assert stored() == {"<m0@example.com>", "<m1@example.com>", "<m2@example.com>"}
    state = MailboxFolder.objects.get(mailbox=mailbox, name="INBOX")
    assert state.last_uid == 3
    assert state.uid_validity

    (second,) = sync(mailbox)
    assert "0 messages read, 0 new stored" in second.message
    assert EmailMessage.objects.count() == 3


def test_only_messages_arrived_since_the_last_sync_are_read(make_mailbox, dovecot):
    mailbox = make_mailbox()
    dovecot.deliver(mailbox.username, mail(message_id="<old@example.com>"))
    sync(mailbox)
    dovecot.deliver(mailbox.username, mail(message_id="<new@example.com>"))
    (outcome,) = sync(mailbox)
    assert "1 messages read, 1 new stored" in outcome.message
    assert stored() == {"<old@example.com>", "<new@example.com>"}


def test_the_same_message_in_two_mailboxes_is_stored_once(make_mailbox, dovecot):
    sales, support = make_mailbox("Sales"), make_mailbox("Support")
    copy = mail(message_id="<shared@example.com>", to="sales@example.test, help@example.test")
    dovecot.deliver(sales.username, copy)
    dovecot.deliver(support.username, copy)
    outcomes = sync(sales, support)
    assert [o.ok for o in outcomes] == [True, True]
    message = EmailMessage.objects.get()
    assert message.message_id == "<shared@example.com>"
    assert message.mailbox == "Sales"


def test_a_message_without_message_id_gets_a_stable_synthetic_one(make_mailbox, dovecot):
    sales, support = make_mailbox("Sales"), make_mailbox("Support")
    anonymous = mail(message_id=None, date=MONDAY, subject="No id")
    dovecot.deliver(sales.username, anonymous)
    dovecot.deliver(support.username, anonymous)
    sync(sales, support)
    message = EmailMessage.objects.get()
    assert message.message_id.endswith("@synthetic.nightshift.invalid>")
    assert message.thread_key == message.message_id


def test_reading_does_not_mark_messages_read(make_mailbox, dovecot):
    mailbox = make_mailbox()
    dovecot.deliver(mailbox.username, mail())
    sync(mailbox)
    connection = dovecot.connect(mailbox.username)
    try:
        connection.select("INBOX", readonly=True)
        _status, data = connection.search(None, "UNSEEN")
    finally:
        connection.logout()
    assert data[0].split() == [b"1"]


def test_a_folder_is_read_in_steps_of_the_per_run_limit(make_mailbox, dovecot):
    mailbox = make_mailbox()
    dovecot.deliver(mailbox.username, *(mail(message_id=f"<s{n}@example.com>") for n in range(5)))
    sync(mailbox, max_messages_per_folder=2)
    assert len(stored()) == 2
    sync(mailbox, max_messages_per_folder=2)
    sync(mailbox, max_messages_per_folder=2)
    assert len(stored()) == 5


def test_a_recreated_folder_with_a_new_uidvalidity_is_read_again(make_mailbox, dovecot):
    mailbox = make_mailbox(folders="Archive")
    dovecot.deliver(mailbox.username, mail(message_id="<a1@example.com>"), folder="Archive")
    sync(mailbox)
    first_validity = MailboxFolder.objects.get(mailbox=mailbox).uid_validity
    connection = dovecot.connect(mailbox.username)
    try:
        connection.delete("Archive")
    finally:
        connection.logout()
    dovecot.deliver(
        mailbox.username,
        mail(message_id="<a1@example.com>"),
        mail(message_id="<a2@example.com>"),
        folder="Archive",
    )
    (outcome,) = sync(mailbox)
    assert "2 messages read, 1 new stored" in outcome.message
    assert MailboxFolder.objects.get(mailbox=mailbox).uid_validity != first_validity
    assert stored() == {"<a1@example.com>", "<a2@example.com>"}


def test_every_folder_named_is_read_including_non_ascii_names(make_mailbox, dovecot):
    mailbox = make_mailbox(folders="INBOX, Itens enviados, Entrée")
    dovecot.deliver(mailbox.username, mail(message_id="<in@example.com>"))
    dovecot.deliver(
        mailbox.username, mail(message_id="<sent@example.com>"), folder="Itens enviados"
    )
    dovecot.deliver(mailbox.username, mail(message_id="<fr@example.com>"), folder="Entrée")
    (outcome,) = sync(mailbox)
    assert outcome.ok, outcome.message
    assert stored() == {"<in@example.com>", "<sent@example.com>", "<fr@example.com>"}


# -- linking, threading, tagging -------------------------------------------------------------


def test_messages_link_to_contact_and_lead_by_address_case_insensitively(make_mailbox, dovecot):
    contact = Contact.objects.create(code="C1", first_name="Ana", email="ana@example.com")
    lead = Lead.objects.create(code="L1", first_name="Bruno", email="Bruno.Lima@Example.org")
    mailbox = make_mailbox(email_address="sales@example.test")
    dovecot.deliver(
        mailbox.username,
        mail(message_id="<c@x>", sender="ANA@Example.com"),
        mail(message_id="<l@x>", sender="bruno.lima@example.org"),
        mail(message_id="<none@x>", sender="stranger@example.net"),
        # Sent from the mailbox itself: the counterparty is the recipient.
        mail(message_id="<out@x>", sender="sales@example.test", to="ana@example.com"),
    )
    sync(mailbox)
    rows = {m.message_id: m for m in EmailMessage.objects.all()}
    assert (rows["<c@x>"].contact, rows["<c@x>"].lead) == (contact, None)
    assert (rows["<l@x>"].contact, rows["<l@x>"].lead) == (None, lead)
    assert (rows["<none@x>"].contact, rows["<none@x>"].lead) == (None, None)
    assert rows["<out@x>"].contact == contact
    assert rows["<out@x>"].direction == EmailDirection.OUTBOUND
    assert rows["<c@x>"].direction == EmailDirection.INBOUND


def test_a_lead_writing_in_is_marked_replied(make_mailbox, dovecot):
    lead = Lead.objects.create(code="L1", email="bruno@example.org")
    mailbox = make_mailbox()
    dovecot.deliver(mailbox.username, mail(sender="bruno@example.org", date=MONDAY))
    sync(mailbox)
    lead.refresh_from_db()
    assert lead.replied_at == MONDAY


def test_a_reply_joins_the_thread_of_the_message_it_answers(make_mailbox, dovecot):
    mailbox = make_mailbox()
    dovecot.deliver(mailbox.username, mail(message_id="<root@x>", date=MONDAY))
    sync(mailbox)
    dovecot.deliver(
        mailbox.username,
        mail(
            message_id="<reply@x>",
            subject="Re: Hello",
            in_reply_to="<root@x>",
            references="<root@x>",
            date=MONDAY + datetime.timedelta(hours=1),
        ),
        # A client that sends In-Reply-To only.
        mail(
            message_id="<reply2@x>",
            in_reply_to="<reply@x>",
            date=MONDAY + datetime.timedelta(hours=2),
        ),
    )
    sync(mailbox)
    threads = dict(EmailMessage.objects.values_list("message_id", "thread_key"))
    assert threads == {"<root@x>": "<root@x>", "<reply@x>": "<root@x>", "<reply2@x>": "<root@x>"}
    assert EmailMessage.objects.get(message_id="<reply2@x>").in_reply_to == "<reply@x>"


def test_a_reply_read_before_its_parent_is_rethreaded_when_the_parent_arrives(
    make_mailbox, dovecot
):
    inbox, sent = make_mailbox("Inbox"), make_mailbox("Sent")
    # The reply arrives first; its parent (itself a reply to <root@x>) comes later.
    dovecot.deliver(inbox.username, mail(message_id="<child@x>", in_reply_to="<parent@x>"))
    sync(inbox)
    assert EmailMessage.objects.get().thread_key == "<parent@x>"
    dovecot.deliver(
        sent.username,
        mail(message_id="<parent@x>", in_reply_to="<root@x>", references="<root@x>"),
    )
    sync(sent)
    threads = dict(EmailMessage.objects.values_list("message_id", "thread_key"))
    assert threads == {"<child@x>": "<root@x>", "<parent@x>": "<root@x>"}


def test_messages_sent_from_the_crm_are_tagged(make_mailbox, dovecot, settings):
    settings.NIGHTSHIFT_MESSAGE_ID_DOMAIN = "crm.example.test"
    mailbox = make_mailbox()
    dovecot.deliver(
        mailbox.username,
        mail(message_id="<h@x>", headers={"X-Nightshift-Message": "42"}),
        mail(message_id="<123.456@crm.example.test>"),
        mail(message_id="<plain@x>"),
    )
    sync(mailbox)
    tagged = dict(EmailMessage.objects.values_list("message_id", "sent_from_crm"))
    assert tagged == {"<h@x>": True, "<123.456@crm.example.test>": True, "<plain@x>": False}
    assert EmailMessage.objects.get(message_id="<h@x>").direction == EmailDirection.OUTBOUND


def test_non_ascii_subjects_names_and_bodies_are_decoded(make_mailbox, dovecot):
    contact = Contact.objects.create(code="C1", first_name="João", email="joao@example.com")
    mailbox = make_mailbox()
    dovecot.deliver(
        mailbox.username,
        mail(
            sender="João Conceição <joao@example.com>",
            subject="Orçamento nº 7 — ação urgente ✓",
            body="Olá, segue o orçamento.",
            html="<p>Olá</p>",
        ),
    )
    raw = mail(sender="João Conceição <joao@example.com>", subject="Orçamento")
    assert b"=?utf-8?" in raw  # encoded words on the wire, as clients send them
    sync(mailbox)
    message = EmailMessage.objects.get()
    assert message.subject == "Orçamento nº 7 — ação urgente ✓"
    assert message.from_address == "joao@example.com"
    assert message.body_text.strip() == "Olá, segue o orçamento."
    assert message.body_html.strip() == "<p>Olá</p>"
    assert message.contact == contact


# -- authentication and failures ------------------------------------------------------------


def test_oauth2_xoauth2_with_a_token_from_each_source(make_mailbox, dovecot, tmp_path, monkeypatch):
    user = dovecot.add_user()
    dovecot.deliver(user, mail())
    token_file = tmp_path / "token"
    token_file.write_text(f"token-{user}\n")
    monkeypatch.setenv("NS_TEST_TOKEN", f"token-{user}")
    mailboxes = [
        make_mailbox("Stored", user=user, auth_method=AuthMethod.OAUTH2, secret=f"token-{user}"),
        make_mailbox(
            "From file",
            user=user,
            auth_method=AuthMethod.OAUTH2,
            secret="",
            token_source=TokenSource.FILE,
            token_reference=str(token_file),
        ),
        make_mailbox(
            "From environment",
            user=user,
            auth_method=AuthMethod.OAUTH2,
            secret="",
            token_source=TokenSource.ENVIRONMENT,
            token_reference="NS_TEST_TOKEN",
        ),
    ]
    outcomes = sync(*mailboxes)
    assert all(o.ok for o in outcomes), [o.message for o in outcomes]
    assert EmailMessage.objects.count() == 1


def test_a_refused_oauth2_token_is_an_error_naming_the_mailbox(make_mailbox):
    mailbox = make_mailbox("Bad token", auth_method=AuthMethod.OAUTH2, secret="expired")
    (outcome,) = sync(mailbox)
    assert not outcome.ok
    assert outcome.message.startswith("Mailbox “Bad token”: the server 127.0.0.1 refused")


@pytest.fixture
def run_process(operator):
    """Define, submit and execute an inbound e-mail run as a worker would."""
    SchedulerState.objects.update_or_create(pk=1, defaults={"running": True})

    def run(**params):
        definition = actions.create_definition(
            user=operator,
            process_key=SyncMailboxes.key,
            name="Read mailboxes",
            parameters=params,
            schedule={"mode": "now"},
            log_level="all",
        )
        task = actions.submit_definition(user=operator, unified_code=definition.unified_code)
        (run,) = fire_due(task.next_fire_at)
        with registered(ApplicationServer.default()) as worker_id:
            return engine.execute(run.pk, worker_id=worker_id)

    return run


def test_unreachable_mailboxes_are_errors_and_the_others_still_sync(
    make_mailbox, dovecot, run_process
):
    good = make_mailbox("Good")
    dovecot.deliver(good.username, mail())
    wrong_password = make_mailbox("Wrong password", secret="guess")
    closed = dovecot.add_user()
    wrong_port = make_mailbox("Wrong port", user=closed, port=1)
    run = run_process()
    assert run.state == RunState.COMPLETED_WITH_ERRORS
    items = {item.record_id: item for item in RunItem.objects.filter(run=run)}
    assert items[good.pk].ok
    assert items[wrong_password.pk].message.startswith(
        "Mailbox “Wrong password”: the server 127.0.0.1 refused the sign-in of"
    )
    assert items[wrong_port.pk].message.startswith(
        "Mailbox “Wrong port”: cannot connect to 127.0.0.1:1:"
    )
    assert EmailMessage.objects.count() == 1
    wrong_port.refresh_from_db()
    assert "cannot connect" in wrong_port.last_error
    good.refresh_from_db()
    assert good.last_synced_at is not None
    assert good.last_error == ""


@pytest.mark.parametrize(
    ("security", "reason"),
    [
        ("starttls", "refused STARTTLS: "),
        ("tls", "cannot connect to 127.0.0.1:"),
    ],
)
def test_a_server_without_the_tls_asked_for_is_an_error(make_mailbox, security, reason):
    mailbox = make_mailbox("Secure", security=security)
    (outcome,) = sync(mailbox)
    assert not outcome.ok
    assert outcome.message.startswith("Mailbox “Secure”: ")
    assert reason in outcome.message


def test_a_missing_folder_is_an_error_naming_it(make_mailbox):
    mailbox = make_mailbox("Sales", folders="INBOX, Nowhere")
    (outcome,) = sync(mailbox)
    assert not outcome.ok
    assert "the folder Nowhere cannot be opened" in outcome.message
