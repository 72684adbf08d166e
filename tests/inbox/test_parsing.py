"""Reading one raw message into the stored fields (no server needed)."""

from __future__ import annotations

import datetime

from nightshift.inbox.imap import encode_folder
from nightshift.inbox.parsing import message_ids, parse
from tests.inbox.conftest import mail

MONDAY = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=datetime.UTC)


def test_encoded_words_in_subject_and_names_are_decoded():
    raw = (
        b"From: =?utf-8?q?Jo=C3=A3o_Concei=C3=A7=C3=A3o?= <Joao@Example.com>\r\n"
        b"To: =?iso-8859-1?q?Andr=E9?= <andre@example.org>\r\n"
        b"Subject: =?utf-8?b?T3LDp2FtZW50byDinJM=?=\r\n"
        b"Message-ID: <a@b>\r\n\r\nbody\r\n"
    )
    parsed = parse(raw)
    assert parsed.subject == "Orçamento ✓"
    assert parsed.from_address == "joao@example.com"
    assert parsed.names == {"joao@example.com": "João Conceição", "andre@example.org": "André"}
    assert parsed.to_addresses == ["andre@example.org"]


def test_ids_keep_their_brackets_and_references_keep_their_order():
    parsed = parse(
        mail(message_id="<c@x>", in_reply_to="<b@x>", references="<a@x> <b@x>", date=MONDAY)
    )
    assert (parsed.message_id, parsed.in_reply_to, parsed.references) == (
        "<c@x>",
        "<b@x>",
        ["<a@x>", "<b@x>"],
    )
    assert parsed.sent_at == MONDAY


def test_a_missing_message_id_gets_the_same_synthetic_id_whatever_the_delivery_headers():
    raw = mail(message_id=None, date=MONDAY)
    delivered = b"Received: from mx1 by mx2; Mon, 23 Nov 2026 09:00:01 +0000\r\n" + raw
    assert parse(raw).message_id == parse(delivered).message_id
    assert (
        parse(raw).message_id != parse(mail(message_id=None, date=MONDAY, body="other")).message_id
    )


def test_an_overlong_message_id_is_replaced_by_its_digest():
    long_id = "<" + "x" * 300 + "@example.com>"
    (normalised,) = message_ids(long_id)
    assert len(normalised) < 255
    assert message_ids(long_id) == [normalised]  # stable


def test_a_bare_id_without_brackets_is_accepted():
    assert message_ids("abc@example.com") == ["<abc@example.com>"]
    assert message_ids("") == []


def test_a_message_with_an_unknown_charset_and_no_date_still_parses():
    raw = (
        b"From: a@example.com\r\nSubject: x\r\nMessage-ID: <u@x>\r\n"
        b"Content-Type: text/plain; charset=x-unknown\r\n\r\nol\xe1\r\n"
    )
    parsed = parse(raw)
    assert parsed.body_text.startswith("ol")
    assert parsed.sent_at.tzinfo is not None


def test_the_crm_header_tags_a_message_and_the_id_domain_only_when_configured(settings):
    assert parse(mail(headers={"X-Nightshift-Message": "9"})).sent_from_crm
    crm_id = mail(message_id="<1.2@crm.example.test>")
    assert not parse(crm_id).sent_from_crm
    settings.NIGHTSHIFT_MESSAGE_ID_DOMAIN = "crm.example.test"
    assert parse(crm_id).sent_from_crm


def test_folder_names_are_quoted_in_modified_utf7():
    assert encode_folder("INBOX") == '"INBOX"'
    assert encode_folder("Itens enviados") == '"Itens enviados"'
    assert encode_folder("Entrée") == '"Entr&AOk-e"'
    assert encode_folder("R&D") == '"R&-D"'
    assert encode_folder('a"b') == '"a\\"b"'


def test_the_text_and_html_bodies_of_a_multipart_message_are_both_kept():
    parsed = parse(mail(body="Olá, texto.", html="<p>Olá, HTML.</p>"))
    assert parsed.body_text.strip() == "Olá, texto."
    assert parsed.body_html.strip() == "<p>Olá, HTML.</p>"
    single = parse(mail(body="só texto"))
    assert (single.body_text.strip(), single.body_html) == ("só texto", "")
