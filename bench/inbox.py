"""Benchmark of the inbound e-mail process on PostgreSQL against a real Dovecot on loopback.

Figures: messages per second of a first sync of one mailbox (IMAP fetch, parse, store,
link, thread) and its peak RSS, against a baseline measured in the same run on a smaller
sample from another account: the same fetch and parse, then a per-message ORM loop (exists by
Message-ID, one contact and one lead query per address, one parent query, one save). Targets:
at least 100 messages/s, under 300 MB, at least 3x the baseline (IMAP transfer and parsing
are the same on both sides, so the ratio is bounded by them).

Before anything is timed: contacts and leads are loaded with COPY, and the messages are
delivered with IMAP APPEND (a third are replies to an earlier message; senders are contacts,
leads and strangers in turn).

    .venv/bin/python bench/inbox.py [--messages 5000] [--baseline 1000] [--contacts 100000]

Needs Dovecot (apt-get install -y dovecot-imapd) and PostgreSQL (NIGHTSHIFT_BENCH_PG).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

from _common import ROOT, django_on, peak_rss_mb, reset_peak_rss, scratch_database, target

# A first sync of a 100,000-message mailbox within 20 minutes; afterwards a 5-minute run
# sees a few hundred messages at most. Parsing with policy.default dominates the time.
RATE_TARGET = 100  # messages per second
RSS_TARGET_MB = 300
RATIO_TARGET = 3.0
AS_OF = dt.date(2026, 11, 30)
START = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)


def messages(count: int, prefix: str, contacts: int, leads: int):
    from tests.inbox.conftest import mail

    for n in range(count):
        if n % 3 == 0:
            sender = f"c{n % contacts}@example.com"
        elif n % 3 == 1:
            sender = f"L{n % leads}@Example.org"
        else:
            sender = f"stranger{n}@example.net"
        parent = f"<{prefix}{n - 3}@bench>" if n % 3 == 2 and n >= 3 else None
        yield mail(
            sender=sender,
            subject=f"Pedido nº {n}",
            message_id=f"<{prefix}{n}@bench>",
            in_reply_to=parent,
            references=parent,
            body=f"Olá,\n\nmensagem {n}.\n" * 5,
            date=START + dt.timedelta(minutes=n),
        )


def deliver(server, user: str, raws) -> None:
    connection = server.connect(user)
    try:
        for raw in raws:
            connection.append("INBOX", None, None, raw)
    finally:
        connection.logout()


def load(contacts: int, leads: int) -> None:
    from nightshift.core.bulk import insert_rows
    from nightshift.crm.models import Contact, Lead

    now = dt.datetime.now(dt.UTC)
    insert_rows(
        Contact,
        ("code", "kind", "first_name", "email", "created_at", "updated_at"),
        ((f"C{n:07d}", "person", f"N{n}", f"c{n}@example.com", now, now) for n in range(contacts)),
    )
    insert_rows(
        Lead,
        ("code", "email", "state", "nurture_step", "created_at", "updated_at"),
        ((f"L{n:07d}", f"l{n}@example.org", "new", 0, now, now) for n in range(leads)),
    )


def baseline(mailbox) -> int:
    """Fetch and parse as the process does, then one message at a time through the ORM."""
    from nightshift.crm.models import Contact, Lead
    from nightshift.inbox import imap
    from nightshift.inbox.parsing import parse
    from nightshift.mail.models import EmailDirection, EmailMessage

    stored = 0
    with imap.open_mailbox(mailbox) as connection:
        imap.open_folder(connection, "INBOX", uid_validity=None)
        for chunk in imap.fetch_new(connection, after_uid=0, limit=10**9):
            for _uid, raw in chunk:
                message = parse(raw)
                if EmailMessage.objects.filter(message_id=message.message_id).exists():
                    continue
                contact = lead = None
                for address in message.addresses():
                    contact = contact or Contact.objects.filter(email=address).first()
                    lead = lead or Lead.objects.filter(email__iexact=address).first()
                parent = (
                    EmailMessage.objects.filter(message_id=message.in_reply_to).first()
                    if message.in_reply_to
                    else None
                )
                EmailMessage(
                    direction=EmailDirection.INBOUND,
                    message_id=message.message_id,
                    in_reply_to=message.in_reply_to,
                    thread_key=parent.thread_key if parent else message.message_id,
                    from_address=message.from_address,
                    to_addresses=", ".join(message.to_addresses),
                    subject=message.subject,
                    body_text=message.body_text,
                    contact=contact,
                    lead=lead,
                    mailbox=mailbox.name,
                    sent_at=message.sent_at,
                ).save()
                stored += 1
    return stored


def measure(server, args, leads: int) -> dict[str, float]:
    """Deliver, then time the process's first sync and the baseline's."""
    from django.db import transaction
    from django.db.models import F

    from nightshift.inbox.models import Mailbox
    from nightshift.inbox.processes import SyncMailboxes
    from nightshift.mail.models import EmailMessage

    load(args.contacts, leads)
    fast_user, slow_user = server.add_user(), server.add_user()
    started = time.perf_counter()
    deliver(server, fast_user, messages(args.messages, "m", args.contacts, leads))
    deliver(server, slow_user, messages(args.baseline, "b", args.contacts, leads))
    print(
        f"delivered {args.messages + args.baseline} messages with APPEND "
        f"in {time.perf_counter() - started:.1f} s"
    )
    common = {"host": server.host, "port": server.port, "security": "plain", "secret": "secret"}
    fast = Mailbox.objects.create(name="Fast", username=fast_user, **common)
    slow = Mailbox.objects.create(name="Baseline", username=slow_user, **common)

    reset_peak_rss()
    started = time.perf_counter()
    with transaction.atomic():
        (outcome,) = SyncMailboxes().process_batch(
            {"max_messages_per_folder": 10**6}, [fast.pk], as_of=AS_OF, run_number=None
        )
    elapsed = time.perf_counter() - started
    peak = peak_rss_mb()
    assert outcome.ok, outcome.message
    stored = EmailMessage.objects.count()

    started = time.perf_counter()
    with transaction.atomic():
        base_stored = baseline(slow)
    base_elapsed = time.perf_counter() - started
    ours = EmailMessage.objects.filter(mailbox="Fast")
    return {
        "stored": stored,
        "elapsed": elapsed,
        "peak": peak,
        "base_stored": base_stored,
        "base_rate": base_stored / base_elapsed,
        "linked": ours.filter(contact__isnull=False).count(),
        "threaded": ours.exclude(thread_key=F("message_id")).count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--baseline", type=int, default=1000)
    parser.add_argument("--contacts", type=int, default=100_000)
    args = parser.parse_args()
    leads = max(args.contacts // 10, 1)

    with scratch_database("inbox") as url, django_on(url):
        sys.path.insert(0, str(ROOT))
        from tests.inbox.dovecot import Dovecot, find_dovecot

        binary = find_dovecot()
        if binary is None:
            raise SystemExit("Dovecot is not installed: apt-get install -y dovecot-imapd")
        server = Dovecot(binary).start()
        try:
            figures = measure(server, args, leads)
        finally:
            server.stop()

    rate = figures["stored"] / figures["elapsed"]
    peak, base_rate = figures["peak"], figures["base_rate"]
    print(
        f"process:  {figures['stored']:.0f} messages in {figures['elapsed']:.2f} s = "
        f"{rate:,.0f} messages/s, peak RSS {peak:.0f} MB ({figures['linked']:.0f} linked to a "
        f"contact, {figures['threaded']:.0f} replies threaded)"
    )
    print(
        f"baseline: {figures['base_stored']:.0f} messages, {base_rate:,.0f} messages/s "
        "(per-message ORM)"
    )
    ratio = rate / base_rate
    print("targets:")
    print(target("first sync rate", f"{rate:,.0f}/s", f">= {RATE_TARGET}/s", rate >= RATE_TARGET))
    print(target("peak RSS", f"{peak:.0f} MB", f"< {RSS_TARGET_MB} MB", peak < RSS_TARGET_MB))
    print(
        target("ratio to baseline", f"{ratio:.1f}x", f">= {RATIO_TARGET}x", ratio >= RATIO_TARGET)
    )


if __name__ == "__main__":
    main()
