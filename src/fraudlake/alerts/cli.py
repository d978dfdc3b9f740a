"""`fraudlake alerts run`: the alert sender in the foreground."""

from __future__ import annotations

import sys

import click


@click.group()
def alerts() -> None:
    """The Slack alert sender (the fraud_alerts ledger → SLACK_WEBHOOK_URL)."""


@alerts.command("run")
def run_command() -> None:
    """Run the alert sender in the foreground (what `make up` starts)."""
    from fraudlake.alerts.service import main

    sys.exit(main())


@alerts.command("check")
def check_command() -> None:
    """Exit 0 if the running sender's heartbeat is fresh, 1 if not (compose's health check)."""
    from fraudlake import settings as cfg
    from fraudlake.alerts.service import STALE_AFTER_SECONDS, beating

    if not beating(cfg.get_path_settings()):
        click.echo(f"the alert sender has not worked a round within {STALE_AFTER_SECONDS:.0f} s", err=True)
        sys.exit(1)
