"""`fraudlake prediction run`: the realtime prediction job in the foreground."""

from __future__ import annotations

import sys

import click


@click.group()
def prediction() -> None:
    """The realtime prediction job (CDC topic → prediction API → fraud_predictions and the alert ledger)."""


@prediction.command("run")
def run_command() -> None:
    """Run the prediction job in the foreground (what `make up` starts)."""
    from fraudlake.prediction.job import main

    sys.exit(main())
