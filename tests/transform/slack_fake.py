"""A local fake of Slack's Web API for tests (no tests here): ``FakeSlack``, a real HTTP server
on 127.0.0.1 that checks each request the way Slack documents it and records every call."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any
from urllib.parse import parse_qs

from tests.transform.fakes import free_port

TOKEN = "xoxb-test-1234-abcdef"
ALERTS = "C0ALERTS"
_serial = count(1)


@dataclass(frozen=True)
class SlackCall:
    method: str
    authorization: str
    content_type: str
    body: dict[str, Any]
    answer: dict[str, Any]
    status: int


class FakeSlack:
    """Slack's Web API as far as Transform uses it, on a free local port.

    ``users.lookupByEmail`` takes a form body (``email``) and answers the user of ``users`` or
    ``users_not_found``; ``chat.postMessage`` takes JSON (``channel``, ``text``) and accepts a
    known user id (a direct message) or a channel of ``channels``, else ``channel_not_found``.
    Every call must carry ``Authorization: Bearer <token>`` (else ``invalid_auth``) and the
    content type its method expects (else ``invalid_form_data``, noted in ``problems``).
    ``script(answers)`` answers the next calls with ``"429"`` (HTTP 429, ``Retry-After``),
    ``"503"``, or ``"error:<code>"`` (HTTP 200, ok false), one each."""

    def __init__(self, *, token: str = TOKEN) -> None:
        self.token = token
        self.port = free_port()
        self.users: dict[str, str] = {}
        self.channels: set[str] = {ALERTS}
        self.retry_after = "120"
        self.calls: list[SlackCall] = []
        self.problems: list[str] = []
        self.lock = threading.Lock()
        self._script: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def script(self, answers: list[str]) -> None:
        with self.lock:
            self._script = list(answers)

    def methods(self) -> list[str]:
        return [call.method for call in self.calls]

    def posts(self) -> list[dict[str, Any]]:
        """The bodies of the chat.postMessage calls Slack accepted."""
        return [
            call.body
            for call in self.calls
            if call.method == "chat.postMessage" and call.answer.get("ok")
        ]

    def start(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                method = self.path.removeprefix("/api/")
                content_type = self.headers.get("Content-Type", "")
                status, answer, body = fake._answer(method, self.headers, content_type, raw)
                with fake.lock:
                    fake.calls.append(
                        SlackCall(
                            method=method,
                            authorization=self.headers.get("Authorization", ""),
                            content_type=content_type,
                            body=body,
                            answer=answer,
                            status=status,
                        )
                    )
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                if status == 429:
                    self.send_header("Retry-After", fake.retry_after)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _answer(
        self, method: str, headers: Any, content_type: str, raw: str
    ) -> tuple[int, dict[str, Any], dict[str, Any]]:
        body: dict[str, Any]
        if method == "users.lookupByEmail":
            if not content_type.startswith("application/x-www-form-urlencoded"):
                self.problems.append(f"{method} sent as {content_type}")
                return 200, {"ok": False, "error": "invalid_form_data"}, {}
            body = {key: values[0] for key, values in parse_qs(raw).items()}
        elif method == "chat.postMessage":
            if not content_type.startswith("application/json"):
                self.problems.append(f"{method} sent as {content_type}")
                return 200, {"ok": False, "error": "invalid_form_data"}, {}
            body = json.loads(raw)
        else:
            self.problems.append(f"unexpected method {method}")
            return 404, {"ok": False, "error": "unknown_method"}, {}
        with self.lock:
            scripted = self._script.pop(0) if self._script else ""
        if scripted == "429":
            return 429, {"ok": False, "error": "ratelimited"}, body
        if scripted == "503":
            return 503, {"ok": False, "error": "service_unavailable"}, body
        if scripted.startswith("error:"):
            return 200, {"ok": False, "error": scripted.removeprefix("error:")}, body
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 200, {"ok": False, "error": "invalid_auth"}, body
        if method == "users.lookupByEmail":
            user_id = self.users.get(body.get("email", ""))
            if user_id is None:
                return 200, {"ok": False, "error": "users_not_found"}, body
            return 200, {"ok": True, "user": {"id": user_id, "name": "someone"}}, body
        channel = body.get("channel", "")
        if channel not in self.channels and channel not in self.users.values():
            return 200, {"ok": False, "error": "channel_not_found"}, body
        if not body.get("text"):
            return 200, {"ok": False, "error": "no_text"}, body
        return 200, {"ok": True, "channel": channel, "ts": f"{next(_serial)}.000100"}, body
