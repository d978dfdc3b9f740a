"""The dashboard as a stack process: `fraudlake dashboard`'s command line, in the background."""

from __future__ import annotations

import httpx

from fraudlake.dashboard.cli import streamlit_argv
from fraudlake.settings import DashboardSettings, PathSettings
from fraudlake.stack.process import DaemonComponent


class Dashboard(DaemonComponent):
    name = "dashboard"
    label = "dashboard"
    stop_timeout = 10.0

    settings: DashboardSettings

    def __init__(self, paths: PathSettings, settings: DashboardSettings):
        super().__init__(paths, settings)
        from fraudlake.dashboard.producer_control import ProducerControl

        self.producer = ProducerControl(paths)

    def ports(self) -> list[tuple[str, int]]:
        return [("DASHBOARD_PORT", self.settings.dashboard_port)]

    def healthy(self) -> bool:
        url = f"http://{self.settings.dashboard_host}:{self.settings.dashboard_port}/_stcore/health"
        return httpx.get(url, timeout=2).status_code == 200

    def start(self) -> None:
        if self.pid() is None:
            self.claim_ports()
            self.daemon.spawn(streamlit_argv(self.settings))
        self.wait_healthy(timeout=60)

    def stop(self) -> None:
        # A stream started from the page outlives the page (it is its own process);
        # `make down` stops it too, between two commits.
        self.producer.stop()
        super().stop()
