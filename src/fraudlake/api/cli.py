"""`fraudlake serve-api`: the prediction API under uvicorn."""

from __future__ import annotations

import click

from fraudlake.settings import get_api_settings


@click.command("serve-api")
@click.option("--host", help="Listen address (default API_HOST).")
@click.option("--port", type=int, help="Listen port (default API_PORT).")
@click.option("--workers", default=1, show_default=True, help="uvicorn worker processes.")
def serve_api_command(host: str | None, port: int | None, workers: int) -> None:
    """Serve POST /predict/raw, /predict/raw/batch, /health, /model/info and /metrics."""
    import uvicorn

    settings = get_api_settings()
    uvicorn.run("fraudlake.api.app:create_app", factory=True, host=host or settings.api_host,
                port=port or settings.api_port, workers=workers, log_level="warning")
