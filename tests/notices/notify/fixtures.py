"""Real receivers on 127.0.0.1 for notification tests: an SMTP server (aiosmtpd) and HTTP receivers.

A plugin of the root conftest: the reliability, journey and wording tests use these too."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from notices.events import Event, EventKind
from tests.conftest import allow_outbound, free_port


class Receiver:
    """An HTTP endpoint that answers with scripted statuses (then 200) and records every request.

    `hang_first=n`: the first n requests never get an answer until `release()` (a receiver that hangs).
    `completed` lists the requests it answered 2xx, i.e. what it actually accepted.
    """

    def __init__(self, statuses=(), *, hang_first: int = 0, reply: dict | None = None):
        self.statuses = list(statuses)
        self.hang_first = hang_first
        self.reply = reply if reply is not None else {"errcode": 0, "errmsg": "ok"}
        self.requests: list[dict] = []
        self.completed: list[dict] = []
        self.released = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                record = {"path": self.path, "headers": dict(self.headers.items()), "body": body}
                with receiver.lock:
                    receiver.requests.append(record)
                    n = len(receiver.requests)
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                if n <= receiver.hang_first:
                    receiver.released.wait(120)
                    return  # no answer at all: the client times out or is killed
                # Record the acceptance before answering: the client may check `completed` as soon
                # as it reads the answer, before this thread would get to run again.
                if 200 <= status < 300:
                    with receiver.lock:
                        receiver.completed.append(record)
                payload = json.dumps(receiver.reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def release(self):
        self.released.set()

    def close(self):
        self.release()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    """receiver(statuses=(500, 500), hang_first=0) -> a running Receiver, closed after the test; the
    portal is allowed to reach exactly its host:port."""
    made = []

    def make(*args, **kwargs):
        r = Receiver(*args, **kwargs)
        made.append(r)
        allow_outbound(settings, r.url)
        return r

    yield make
    for r in made:
        r.close()


class SMTPSink:
    """Messages received by the local SMTP server, parsed (headers decoded)."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1; Django's SMTP backend points at it for the test."""
    from aiosmtpd.controller import Controller

    port = free_port()  # aiosmtpd checks its own port after start, so it needs a real one
    sink = SMTPSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    yield sink
    controller.stop()


@pytest.fixture
def seeded_tax_systems(request):
    """The catalogue the data migration seeds. A transactional test earlier on the same worker flushes
    it, so tests that name regions and systems put it back (the seed is idempotent)."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or bool(marker and marker.kwargs.get("transaction"))
    request.getfixturevalue("transactional_db" if transactional else "db")
    import importlib

    from django.apps import apps

    importlib.import_module("notices.migrations.0002_seed_tax_systems").seed(apps, None)


def event(key: str) -> Event:
    """An incident opened in Beijing, as the worker tests publish it."""
    return Event(
        kind=EventKind.INCIDENT_OPENED,
        key=key,
        subject="incident:1",
        title="北京 · 数电发票平台 开具功能中断",
        body="正在排查。",
        url="/incidents/1/",
        regions=("北京",),
        system="beijing-digital-invoice",
        functions=("issue",),
    )
