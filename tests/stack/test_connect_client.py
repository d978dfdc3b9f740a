"""Registering the connector with a worker that is not ready to take it yet.

A restarted worker's REST server answers `/` before its herder has joined the group,
and a connector config waits for the herder (after a kill -9, 52–60 s here for what
the dead worker left open to expire). A local HTTP server stands in for such a worker: it
answers the PUT late, then with 409, before taking it.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fraudlake.stack import connect
from fraudlake.stack.connect import ConnectClient
from fraudlake.stack.process import StackError

RUNNING = {"name": "c", "connector": {"state": "RUNNING"}, "tasks": [{"id": 0, "state": "RUNNING"}]}


class SlowWorker:
    """Answers each PUT /connectors/<name>/config with the next scripted (delay, status);
    the connector's status is RUNNING once a PUT was taken."""

    def __init__(self, puts: list[tuple[float, int]]):
        self.puts = deque(puts)
        self.put_count = 0
        self.taken = threading.Event()
        worker = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest's output for failures
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                    pass

            def do_PUT(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                worker.put_count += 1
                delay, status = worker.puts.popleft() if worker.puts else (0, 200)
                time.sleep(delay)
                if status < 400:
                    worker.taken.set()
                self._answer(status, {"error_code": status, "message": f"scripted {status}"})

            def do_GET(self):
                if worker.taken.is_set():
                    self._answer(200, RUNNING)
                else:
                    self._answer(404, {"error_code": 404, "message": "not found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_worker(monkeypatch):
    """Starts a SlowWorker with the given script; each is closed after the test."""
    # Connect's own request timeout is 90 s; a second keeps the test short.
    monkeypatch.setattr(connect, "REQUEST_TIMEOUT_S", 1.0)
    workers: list[SlowWorker] = []

    def start(puts: list[tuple[float, int]]) -> SlowWorker:
        workers.append(SlowWorker(puts))
        return workers[-1]

    yield start
    for worker in workers:
        worker.close()


def test_a_late_answer_and_a_rebalance_are_waited_out(slow_worker):
    worker = slow_worker([(2.0, 200), (0, 409)])
    state = ConnectClient(worker.url).register("c", {"connector.class": "x"}, timeout=20)
    assert state == RUNNING
    # The first PUT timed out on the client's side, the second met a rebalance.
    assert worker.put_count == 3


def test_a_refused_config_fails_at_once_with_connects_answer(slow_worker):
    worker = slow_worker([(0, 400)])
    started = time.monotonic()
    with pytest.raises(StackError, match=r"refused connector c: 400 .*scripted 400"):
        ConnectClient(worker.url).register("c", {}, timeout=20)
    assert time.monotonic() - started < 5
    assert worker.put_count == 1


def test_a_worker_that_never_takes_it_fails_at_the_deadline_saying_why(slow_worker):
    worker = slow_worker([(0, 409)] * 100)
    started = time.monotonic()
    with pytest.raises(StackError, match=r"did not take connector c in time: 409"):
        ConnectClient(worker.url).register("c", {}, timeout=3)
    assert 3 <= time.monotonic() - started < 8
