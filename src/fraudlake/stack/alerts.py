"""The alert sender as a stack process: `python -m fraudlake.alerts.service`.

Healthy once it has worked a round (PostgreSQL answered) since this very process
started: its heartbeat file is newer than its pid file.
"""

from __future__ import annotations

import sys

from fraudlake.settings import AlertSettings
from fraudlake.stack.process import DaemonComponent


class AlertSenderProcess(DaemonComponent):
    name = "alerts"
    label = "alert sender"
    # SIGTERM lets the message in flight finish and commit; one Slack request's timeout is enough.
    stop_timeout = 30.0

    settings: AlertSettings

    def ports(self) -> list[tuple[str, int]]:
        return []  # it only calls out: PostgreSQL and the webhook

    def healthy(self) -> bool:
        from fraudlake.alerts.service import beating

        try:
            started = self.daemon.pid_file.stat().st_mtime
        except OSError:
            return False
        return beating(self.paths, since=started)

    def start(self) -> None:
        if self.pid() is None:
            self.daemon.spawn([sys.executable, "-m", "fraudlake.alerts.service"])
        self.wait_healthy(timeout=60)
