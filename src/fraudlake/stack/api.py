"""The prediction API as a stack process: one uvicorn worker serving fraudlake.api."""

from __future__ import annotations

import sys

import httpx

from fraudlake.settings import ApiSettings
from fraudlake.stack.process import DaemonComponent


class PredictionApi(DaemonComponent):
    name = "api"
    label = "prediction API"
    stop_timeout = 20.0

    settings: ApiSettings

    def ports(self) -> list[tuple[str, int]]:
        return [("API_PORT", self.settings.api_port)]

    def healthy(self) -> bool:
        # /health answers 503 while the model or the database is missing.
        return httpx.get(f"{self.settings.api_url}/health", timeout=2).status_code == 200

    def start(self) -> None:
        if self.pid() is None:
            self.claim_ports()
            self.daemon.spawn([sys.executable, "-m", "uvicorn", "fraudlake.api.app:create_app", "--factory",
                               "--host", self.settings.api_host, "--port", str(self.settings.api_port),
                               "--workers", "1", "--log-level", "info", "--no-access-log"])
        self.wait_healthy(timeout=60)
