"""Local fakes of the services delivery talks to, for tests (no tests here).

``FakeSMTPServer``: a real SMTP server (aiosmtpd) on 127.0.0.1 that records every message it
accepts and counts connections. ``FakeWebhook``: a real HTTP server (http.server) that records
every JSON body posted to it. Both listen on a free port and switch failure modes at run time:

SMTP modes: ``accept``; ``refuse`` (nothing listens: connection refused); ``4xx`` (451 to DATA);
``5xx`` (554 to DATA); ``slow`` (accept after ``delay`` seconds). It advertises PIPELINING
(RFC 2920, like Postfix) unless ``pipelining=False``, so both ways of sending are exercised; a
pipelining client's MAIL, RCPT and DATA arrive in one write and are answered in order.
``hang_on=k``: the k-th DATA
command (counted from start or ``reset``) hangs until ``release()`` or ``hang_seconds``, then
answers 451; ``hanging`` is set while it hangs.

Webhook modes: ``ok`` (200); ``4xx`` (404); ``429``; ``5xx`` (503); ``slow`` (200 after
``delay`` seconds); ``hang`` (no answer for ``hang_seconds``, then 200, recorded with status 0:
the client has given up by then); ``refuse`` (nothing listens). ``script(modes)`` answers the next requests with those modes, one each, then the mode.
"""

from __future__ import annotations

import asyncio
import email
import email.message
import email.policy
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], *, timeout: float, interval: float = 0.05) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass; whether it held."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: email.message.EmailMessage

    @property
    def delivery_id(self) -> int | None:
        value = self.message.get("X-Transform-Delivery")
        return int(value) if value else None

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""


class _Handler:
    def __init__(self, server: FakeSMTPServer) -> None:
        self.server = server

    async def handle_EHLO(
        self, smtp: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.server.pipelining:
            return [*responses[:-1], "250-PIPELINING", responses[-1]]
        return responses

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        fake = self.server
        with fake.lock:
            fake.data_commands += 1
            number = fake.data_commands
            mode = fake.mode
        if fake.hang_on is not None and number == fake.hang_on:
            fake.hanging.set()
            deadline = time.monotonic() + fake.hang_seconds
            while not fake.released.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            fake.hanging.clear()
            return "451 4.3.0 Hung, then gave up"
        if mode == "4xx":
            return "451 4.3.0 Try again later"
        if mode == "5xx":
            return "554 5.7.1 Rejected"
        if mode == "slow":
            await asyncio.sleep(fake.delay)
        content = envelope.original_content or b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        with fake.lock:
            fake.messages.append(
                ReceivedMail(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    message=parsed,
                )
            )
        return "250 Message accepted for delivery"


class _CountingController(Controller):
    def __init__(self, server: FakeSMTPServer, **kwargs: Any) -> None:
        super().__init__(_Handler(server), hostname=HOST, port=server.port, **kwargs)
        self.fake = server

    def factory(self) -> SMTP:
        with self.fake.lock:
            self.fake.connections += 1
        return SMTP(self.handler, hostname="fake-smtp.test")


class FakeSMTPServer:
    """A recording SMTP server on 127.0.0.1 (see the module docstring for its modes)."""

    def __init__(self, *, port: int | None = None, pipelining: bool = True) -> None:
        self.port = port or free_port()
        self.host = HOST
        self.pipelining = pipelining
        self.lock = threading.Lock()
        self.messages: list[ReceivedMail] = []
        self.connections = 0
        self.data_commands = 0
        self.mode = "accept"
        self.delay = 0.5
        self.hang_on: int | None = None
        self.hang_seconds = 10.0
        self.hanging = threading.Event()
        self.released = threading.Event()
        self._controller: _CountingController | None = None

    # lifecycle

    def start(self) -> FakeSMTPServer:
        self._listen()
        return self

    def stop(self) -> None:
        self.released.set()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> FakeSMTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _listen(self) -> None:
        if self._controller is not None:
            return
        controller = _CountingController(self)
        controller.start()
        self._controller = controller
        with self.lock:
            # start() opens one connection of its own to check the server answers.
            self.connections = max(0, self.connections - 1)

    # modes

    def set_mode(self, mode: str) -> None:
        if mode not in {"accept", "refuse", "4xx", "5xx", "slow"}:
            raise ValueError(f"unknown SMTP mode {mode!r}")
        if mode == "refuse":
            if self._controller is not None:
                self._controller.stop()
                self._controller = None
        else:
            self._listen()
        self.mode = mode

    def release(self) -> None:
        self.released.set()

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
            self.connections = 0
            self.data_commands = 0
        self.hang_on = None
        self.released.clear()

    # reading

    def received(self) -> list[ReceivedMail]:
        with self.lock:
            return list(self.messages)

    def delivery_counts(self) -> Counter[int | None]:
        """How many times each delivery id (``X-Transform-Delivery``) arrived."""
        return Counter(mail.delivery_id for mail in self.received())

    def wait_for(self, count: int, *, timeout: float = 10.0) -> bool:
        return wait_until(lambda: len(self.received()) >= count, timeout=timeout)


@dataclass(frozen=True)
class WebhookRequest:
    path: str
    body: Any
    status: int


class FakeWebhook:
    """A recording chat-webhook receiver on 127.0.0.1 (see the module docstring for its modes)."""

    MODES = {"ok", "4xx", "429", "5xx", "slow", "hang", "refuse"}

    def __init__(self) -> None:
        self.port = free_port()
        self.lock = threading.Lock()
        self.requests: list[WebhookRequest] = []
        self.connections = 0
        self.mode = "ok"
        self.delay = 0.3
        self.hang_seconds = 3.0
        self._script: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/hooks/transform"

    def start(self) -> FakeWebhook:
        self._listen()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeWebhook:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_mode(self, mode: str) -> None:
        if mode not in self.MODES:
            raise ValueError(f"unknown webhook mode {mode!r}")
        if mode == "refuse":
            self.stop()
        else:
            self._listen()
        self.mode = mode

    def script(self, modes: list[str]) -> None:
        with self.lock:
            self._script = list(modes)

    def _next_mode(self) -> str:
        with self.lock:
            return self._script.pop(0) if self._script else self.mode

    def delivered(self) -> list[Any]:
        """The bodies answered with a 2xx, in order."""
        with self.lock:
            return [request.body for request in self.requests if 200 <= request.status < 300]

    def _listen(self) -> None:
        if self._server is not None:
            return
        fake = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, so a client that reuses its connection is seen doing so.
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with fake.lock:
                    fake.connections += 1

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                mode = fake._next_mode()
                status = {"4xx": 404, "429": 429, "5xx": 503}.get(mode, 200)
                if mode == "slow":
                    time.sleep(fake.delay)
                if mode == "hang":
                    time.sleep(fake.hang_seconds)
                    status = 0  # recorded as not delivered: the client had given up by now
                with fake.lock:
                    fake.requests.append(WebhookRequest(path=self.path, body=body, status=status))
                text = b"ok" if status in (0, 200) else f"error {status}".encode()
                try:
                    self.send_response(status or 200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(text)))
                    self.end_headers()
                    self.wfile.write(text)
                except OSError:
                    pass  # the client gave up waiting (hang mode)

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = ThreadingHTTPServer((HOST, self.port), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
