"""send_letters against a real SMTP server: delivery, headers, alternatives, non-ASCII names,
the suppression list, idempotence and recording."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from nightshift.mail.models import EmailDirection, EmailMessage, SuppressionEntry
from nightshift.mail.sending import DeliveryStatus, Letter, message_id_for, send_letters

pytestmark = pytest.mark.django_db


def letter(key: int, to: str, **fields) -> Letter:
    values = {"subject": "Olá", "text": "texto", "html": "<p>html</p>", "name": ""} | fields
    return Letter(key=key, to=to, **values)


def test_letter_is_delivered_with_text_and_html_alternatives(smtp_server):
    deliveries = send_letters([letter(1, "ana@example.com", subject="Feliz aniversário!")])

    assert deliveries[1].status == DeliveryStatus.SENT
    (received,) = smtp_server.received
    assert received.rcpt_tos == ["ana@example.com"]
    message = received.message
    assert message["Subject"] == "Feliz aniversário!"
    assert message.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part.get_content() for part in message.iter_parts()}
    assert parts["text/plain"].strip() == "texto"
    assert parts["text/html"].strip() == "<p>html</p>"


def test_text_only_letter_is_a_single_plain_part(smtp_server):
    send_letters([letter(1, "ana@example.com", html="")])
    message = smtp_server.received[0].message
    assert message.get_content_type() == "text/plain"


def test_non_ascii_display_name_is_encoded_and_survives(smtp_server):
    send_letters([letter(1, "joao@example.com", name="João Conceição, Jr.")])
    received = smtp_server.received[0]
    assert b"Jo\xc3\xa3o" not in received.raw.split(b"\r\n\r\n", 1)[0]  # headers are ASCII
    to = received.message["To"]
    assert to.addresses[0].display_name == "João Conceição, Jr."
    assert to.addresses[0].addr_spec == "joao@example.com"


def test_headers_carry_sender_and_the_deterministic_message_id(smtp_server, settings):
    settings.DEFAULT_FROM_EMAIL = "CRM Nightshift <crm@nightshift.example>"
    message_id = message_id_for("birthday", "20261122", 42)
    send_letters([letter(42, "ana@example.com", message_id=message_id)])
    message = smtp_server.received[0].message
    assert message_id == "<birthday.20261122.42@nightshift.example>"
    assert message["Message-ID"] == message_id
    assert message["From"].addresses[0].addr_spec == "crm@nightshift.example"
    assert message["Date"] is not None


def test_sent_letters_are_recorded_as_outbound_messages(smtp_server):
    send_letters([letter(1, "Ana@Example.com", subject="Oi", text="corpo", html="<b>x</b>")])
    stored = EmailMessage.objects.get()
    assert stored.direction == EmailDirection.OUTBOUND
    assert stored.sent_from_crm
    assert stored.to_addresses == "ana@example.com"
    assert (stored.subject, stored.body_text, stored.body_html) == ("Oi", "corpo", "<b>x</b>")
    assert stored.message_id == smtp_server.received[0].message["Message-ID"]


def test_suppressed_address_is_never_mailed(smtp_server):
    SuppressionEntry.objects.create(email="no@example.com", reason="asked")
    deliveries = send_letters([letter(1, "NO@example.com"), letter(2, "yes@example.com")])
    assert deliveries[1].status == DeliveryStatus.SUPPRESSED
    assert deliveries[1].ok
    assert "suppression list" in deliveries[1].message
    assert [r.rcpt_tos for r in smtp_server.received] == [["yes@example.com"]]
    assert not EmailMessage.objects.filter(to_addresses="no@example.com").exists()


def test_same_message_id_is_not_sent_twice(smtp_server):
    message_id = message_id_for("test", 1)
    send_letters([letter(1, "ana@example.com", message_id=message_id)])
    again = send_letters([letter(1, "ana@example.com", message_id=message_id)])
    assert again[1].status == DeliveryStatus.ALREADY_SENT
    assert len(smtp_server.received) == 1


def test_refused_recipient_fails_alone(smtp_server):
    smtp_server.refuse.add("ghost@example.com")
    deliveries = send_letters([letter(1, "ghost@example.com"), letter(2, "ana@example.com")])
    assert deliveries[1].status == DeliveryStatus.FAILED
    assert "ghost@example.com" in deliveries[1].message
    assert deliveries[2].status == DeliveryStatus.SENT
    assert EmailMessage.objects.count() == 1


def test_invalid_or_missing_address_is_an_error(smtp_server):
    deliveries = send_letters([letter(1, "not-an-address"), letter(2, "")])
    assert deliveries[1].status == deliveries[2].status == DeliveryStatus.NO_ADDRESS
    assert not deliveries[1].ok
    assert "not-an-address" in deliveries[1].message
    assert smtp_server.received == []


def test_a_batch_uses_one_connection_and_constant_queries(smtp_server):
    SuppressionEntry.objects.create(email="s@example.com")
    letters = [
        letter(n, f"user{n}@example.com", message_id=message_id_for("t", n)) for n in range(30)
    ]
    letters.append(letter(99, "s@example.com"))
    with CaptureQueriesContext(connection) as queries:
        deliveries = send_letters(letters)
    assert sum(d.status == DeliveryStatus.SENT for d in deliveries.values()) == 30
    assert smtp_server.connections == 1
    # suppression read, Message-ID read, one insert of the messages
    assert len(queries) <= 4


def test_unreachable_server_fails_every_letter_with_the_reason(settings):
    from tests.mail.smtp import free_port

    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 5},
        }
    }
    deliveries = send_letters([letter(1, "ana@example.com"), letter(2, "bia@example.com")])
    assert {d.status for d in deliveries.values()} == {DeliveryStatus.FAILED}
    assert "mail server" in deliveries[1].message
    assert EmailMessage.objects.count() == 0
