"""`fraudlake dashboard`: the Streamlit page in the foreground (what its image runs).

`make up` runs the same command line in the background (fraudlake.stack.dashboard).
"""

from __future__ import annotations

import os
import sys

import click

from fraudlake.resources import packaged_file
from fraudlake.settings import DashboardSettings, get_dashboard_settings

# A script, not a module: `streamlit run` takes a file path.
APP = packaged_file("fraudlake.dashboard", "app.py")


def streamlit_argv(settings: DashboardSettings) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(APP),
            "--server.address", settings.dashboard_host,
            "--server.port", str(settings.dashboard_port),
            "--server.headless", "true", "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal"]


@click.command("dashboard")
def dashboard_command() -> None:
    """Serve the dashboard on DASHBOARD_HOST:DASHBOARD_PORT until stopped."""
    argv = streamlit_argv(get_dashboard_settings())
    os.execv(argv[0], argv)
