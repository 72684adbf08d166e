"""A real Dovecot IMAP server (Debian's dovecot-imapd) on loopback, for the inbound e-mail tests.

Started as an unprivileged process with its own configuration in a temporary directory:
maildir storage there, a passwd-file of test users (plain-text passwords, plain IMAP allowed,
no TLS), an OAuth2 passdb for XOAUTH2 whose tokens a loopback ``http.server`` introspects, and a
free port. Run as root (CI containers), it drops to Debian's ``dovecot`` user first.
"""

from __future__ import annotations

import grp
import http.server
import imaplib
import itertools
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs

from nightshift.inbox.imap import encode_folder

INSTALL_HINT = (
    "Dovecot is not installed: the inbound e-mail tests run against a real Dovecot IMAP "
    "server. Install it with `apt-get update && apt-get install -y dovecot-imapd` "
    "(CI does, in .ci/run), or leave these tests out with -m 'not imap' (make test does)."
)
PASSWORD = "secret"
ACCOUNTS = 500  # one per test that needs a fresh mailbox, per session
START_TIMEOUT = 15  # seconds for Dovecot to accept connections on a loaded machine


def find_dovecot() -> str | None:
    return shutil.which("dovecot") or next(
        (path for path in ("/usr/sbin/dovecot",) if os.access(path, os.X_OK)), None
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Introspection(http.server.BaseHTTPRequestHandler):
    """RFC 7662 token introspection, as Dovecot's oauth2 passdb asks it (POST token=…)."""

    tokens: dict[str, str]  # set on the subclass a server builds

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        token = (form.get("token") or [""])[0]
        user = self.tokens.get(token)
        answer = {"active": "true", "username": user} if user else {"active": "false"}
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        return


CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
auth_failure_delay = 0
first_valid_uid = 1
first_valid_gid = 1
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
  mechanisms = plain login
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf.ext
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""

OAUTH2 = """\
introspection_mode = post
introspection_url = http://127.0.0.1:{port}/introspect
username_attribute = username
active_attribute = active
active_value = true
"""


class Dovecot:
    """One running Dovecot; ``add_user`` makes a fresh account (so tests never share one)."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.tokens: dict[str, str] = {}
        self._numbers = itertools.count(1)
        # Under /tmp (world-traversable), not pytest's 0700 base: Dovecot's user must reach it.
        self.root = Path(tempfile.mkdtemp(prefix="nightshift-dovecot-"))
        self._as_root = os.geteuid() == 0
        account = pwd.getpwnam("dovecot") if self._as_root else pwd.getpwuid(os.geteuid())
        self._uid, self._gid = account.pw_uid, account.pw_gid
        self._user = account.pw_name
        self._process: subprocess.Popen | None = None
        self._http: http.server.HTTPServer | None = None

    def start(self) -> Dovecot:
        handler = type("Introspection", (_Introspection,), {"tokens": self.tokens})
        self._http = http.server.HTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        for name in ("run", "state", "mail", "home"):
            (self.root / name).mkdir()
        # Every account is written before start-up: Dovecot notices a changed passwd-file by
        # its modification time in whole seconds, so accounts added later could go unseen.
        accounts = [f"user{n}@example.test" for n in range(1, ACCOUNTS + 1)]
        (self.root / "passwd").write_text(
            "".join(f"{user}:{{PLAIN}}{PASSWORD}::::::\n" for user in accounts)
        )
        self.tokens.update({f"token-{user}": user for user in accounts})
        (self.root / "oauth2.conf.ext").write_text(OAUTH2.format(port=self._http.server_port))
        group = grp.getgrgid(self._gid).gr_name
        (self.root / "dovecot.conf").write_text(
            CONFIG.format(root=self.root, user=self._user, group=group, port=self.port)
        )
        if self._as_root:
            for path in [self.root, *self.root.rglob("*")]:
                os.chown(path, self._uid, self._gid)
        self._process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            user=self._uid if self._as_root else None,
            group=self._gid if self._as_root else None,
            extra_groups=[] if self._as_root else None,
        )
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                output = self._process.stdout.read().decode(errors="replace")
                raise RuntimeError(f"Dovecot exited at start-up:\n{output}\n{self.log()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"Dovecot did not answer on port {self.port}:\n{self.log()}")

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        shutil.rmtree(self.root, ignore_errors=True)

    def add_user(self) -> str:
        """An account no test used yet: password ``PASSWORD``, OAuth2 token ``token-<user>``."""
        number = next(self._numbers)
        if number > ACCOUNTS:
            raise RuntimeError(f"more than {ACCOUNTS} accounts used; raise ACCOUNTS")
        return f"user{number}@example.test"

    def connect(self, user: str, password: str = PASSWORD) -> imaplib.IMAP4:
        connection = imaplib.IMAP4(self.host, self.port, timeout=10)
        connection.login(user, password)
        return connection

    def deliver(self, user: str, *messages: bytes, folder: str = "INBOX") -> None:
        """Put ``messages`` into ``user``'s ``folder`` with IMAP APPEND (creating the folder)."""
        connection = self.connect(user)
        try:
            name = encode_folder(folder)  # quoted, in IMAP's modified UTF-7
            if folder != "INBOX":
                connection.create(name)
            for raw in messages:
                status, data = connection.append(name, None, None, raw)
                assert status == "OK", data
        finally:
            connection.logout()
