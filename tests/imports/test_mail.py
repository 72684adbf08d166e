"""The summary e-mail of an import, delivered through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import socket

import pytest
from aiosmtpd.controller import Controller

from nightshift.imports.models import DataImport
from tests.imports.files import csv_bytes


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 10},
        }
    }
    yield inbox
    controller.stop()


def test_the_starter_receives_the_summary_over_smtp(
    smtp, run_import, operator, django_capture_on_commit_callbacks
):
    content = csv_bytes(
        [["Code", "First name", "E-mail"], ["C1", "Ana", "a@b.co"], ["C2", "Bia", "nope"]]
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = run_import(content)
    (message,) = smtp.messages
    assert message["To"] == operator.email
    body = message.get_payload(decode=True).decode()
    assert "Rows: 2, created 1, updated 0, rejected 1." in body
    data_import = DataImport.objects.get(run=run)
    assert f"/imports/{data_import.pk}/error-file/" in body
