"""A local Slack incoming webhook for tests: a real HTTP server on 127.0.0.1.

It answers as Slack does (200 `ok`; 400 `invalid_payload` for bad JSON, `no_text`
for a message with neither text nor blocks) and can be told to answer the next
requests with 429 + Retry-After or a server error, so senders are tested through
their real HTTP client and retry handlers.

    with FakeSlack() as slack:
        settings = AlertSettings(slack_webhook_url=slack.url)
        ...
        messages = slack.wait_for(3, timeout=10)
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    """One message the fake accepted."""

    payload: dict
    monotonic: float
    wall: float


class FakeSlack:
    def __init__(self):
        self._lock = threading.Condition()
        self._received: list[Received] = []
        self._statuses: list[int] = []
        self._scripted: deque[tuple[int, str, dict[str, str]]] = deque()
        # Called (in the server's thread) with each request before it is answered, to look
        # at the sender's state while its message is in flight.
        self.on_request: Callable[[], None] | None = None
        # A token in the path, like a real webhook's secret, so tests can check it never leaks.
        self.token = secrets.token_urlsafe(18)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-slack", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/services/TFAKE/BFAKE/{self.token}"

    @property
    def messages(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    @property
    def statuses(self) -> list[int]:
        """The status of every answer given, in order (accepted or not)."""
        with self._lock:
            return list(self._statuses)

    def rate_limit(self, times: int, retry_after: int) -> None:
        """Answer the next `times` requests 429 `rate_limited` with Retry-After."""
        self._script(times, 429, "rate_limited", {"Retry-After": str(retry_after)})

    def fail(self, times: int, status: int = 500) -> None:
        """Answer the next `times` requests with `status`."""
        self._script(times, status, "internal_error", {})

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The accepted messages once there are at least `count`; AssertionError after `timeout` s."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._received) >= count, timeout):
                raise AssertionError(f"fake Slack got {len(self._received)} messages in {timeout} s, expected {count}")
            return list(self._received)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> FakeSlack:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _script(self, times: int, status: int, body: str, headers: dict[str, str]) -> None:
        with self._lock:
            self._scripted.extend([(status, body, headers)] * times)

    def _answer(self, path: str, raw: bytes) -> tuple[int, str, dict[str, str]]:
        with self._lock:
            if not path.endswith(self.token):
                answer = (404, "no_service", {})
            elif self._scripted:
                answer = self._scripted.popleft()
            else:
                answer = self._accept(raw)
            self._statuses.append(answer[0])
            self._lock.notify_all()
            return answer

    def _accept(self, raw: bytes) -> tuple[int, str, dict[str, str]]:
        try:
            payload = json.loads(raw)
        except ValueError:
            return 400, "invalid_payload", {}
        if not isinstance(payload, dict):
            return 400, "invalid_payload", {}
        if not payload.get("text") and not payload.get("blocks"):
            return 400, "no_text", {}
        self._received.append(Received(payload, time.monotonic(), time.time()))
        return 200, "ok", {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if fake.on_request is not None:
                    fake.on_request()
                status, body, headers = fake._answer(self.path, raw)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format, *args):  # the test output is not an access log
                pass

        return Handler
