"""The alert sender as a process of its own: `fraudlake alerts run`, the `alerts`
component of `make up`, compose's `alert-sender` service.

It runs apart from the prediction job, which only writes the ledger: a crash of the
job (its JVM, an OOM, a kill -9) then never falls between Slack's answer and the
ledger's COMMIT, so it repeats no alert. The one window left is a crash of this small
process itself (fraudlake.alerts.sender). SIGTERM lets the message in flight finish
and commit before the process exits.

A heartbeat file, touched after every round in which PostgreSQL answered, says the
sender is working: the stack's health check, and compose's, read its age.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from pathlib import Path

from fraudlake import settings as cfg
from fraudlake.alerts.sender import AlertSender
from fraudlake.settings import PathSettings

log = logging.getLogger(__name__)

HEARTBEAT_FILE = "alerts.heartbeat"
# Touching the file on every 0.2-s poll would be a write for nothing; once a second is enough.
HEARTBEAT_EVERY_SECONDS = 1.0
# A sender waiting out Slack (Retry-After, or its backoff of at most a minute) beats
# after the wait; older than this, it is stuck or cannot reach PostgreSQL.
STALE_AFTER_SECONDS = 120.0


def heartbeat_path(paths: PathSettings) -> Path:
    return paths.fraudlake_run_dir.resolve() / HEARTBEAT_FILE


def beating(paths: PathSettings, since: float | None = None) -> bool:
    """Whether the sender has beaten within STALE_AFTER_SECONDS, and (given `since`, an
    epoch time such as its process's start) not before `since`."""
    try:
        beat = heartbeat_path(paths).stat().st_mtime
    except OSError:
        return False
    return time.time() - beat <= STALE_AFTER_SECONDS and (since is None or beat >= since)


class Heartbeat:
    """Touches `path` when called, at most once every HEARTBEAT_EVERY_SECONDS."""

    def __init__(self, path: Path):
        self.path = path
        self._last = float("-inf")

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self._last >= HEARTBEAT_EVERY_SECONDS:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch()
            self._last = now


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    sender = AlertSender(cfg.get_postgres_settings(), cfg.get_alert_settings())
    heartbeat = Heartbeat(heartbeat_path(cfg.get_path_settings()))
    try:
        sender.run(stop, on_round=heartbeat)
    finally:
        heartbeat.path.unlink(missing_ok=True)  # stopped: not working, whatever the file's age
    return 0


if __name__ == "__main__":
    sys.exit(main())
