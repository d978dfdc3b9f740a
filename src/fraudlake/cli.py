"""`fraudlake`: the project's one command.

Subcommands owned by other parts of the system are listed in LAZY_COMMANDS and
imported only when used, so `fraudlake status` does not pay for loading XGBoost or
Spark.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fraudlake import settings as cfg
from fraudlake.envfile import ensure_env_file, render_example
from fraudlake.errors import FraudlakeError

console = Console()
error_console = Console(stderr=True)
STATE_COLOURS = {"up": "green", "starting?": "yellow", "down": "red", "off": "dim"}

# name -> "module:attribute" of a click command defined next to the code it drives.
LAZY_COMMANDS: dict[str, str] = {
    "producer": "fraudlake.producer.cli:producer",
    "train": "fraudlake.model.cli:train_command",
    "evaluate": "fraudlake.model.cli:evaluate_command",
    "model": "fraudlake.model.cli:model_group",
    "quality": "fraudlake.quality:quality",
    "airflow-env": "fraudlake.orchestration:airflow_env_command",
    "serve-api": "fraudlake.api.cli:serve_api_command",
    "lakehouse": "fraudlake.lakehouse.cli:lakehouse",
    "prediction": "fraudlake.prediction.cli:prediction",
    "alerts": "fraudlake.alerts.cli:alerts",
    "streaming": "fraudlake.streaming.cli:streaming",
    "dashboard": "fraudlake.dashboard.cli:dashboard_command",
}


class LazyGroup(click.Group):
    """Loads LAZY_COMMANDS on use, and is the one place a FraudlakeError becomes a message."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except FraudlakeError as exc:
            # The message says what to do; a traceback would only bury it.
            error_console.print(f"[red]error:[/red] {escape(str(exc))}", markup=True, highlight=False, soft_wrap=True)
            ctx.exit(exc.exit_code)

    def list_commands(self, ctx):
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx, name):
        if name in LAZY_COMMANDS:
            module, attribute = LAZY_COMMANDS[name].split(":")
            return getattr(importlib.import_module(module), attribute)
        return super().get_command(ctx, name)


def _prepare_env() -> None:
    """Make `.env` (with generated secrets) on first use, then read settings afresh."""
    env_path = Path(cfg.env_file_path())
    if ensure_env_file(env_path):
        console.print(f"created {env_path} with generated passwords (edit it to change any setting)")
    cfg.reset_settings()


@click.group(cls=LazyGroup)
def main() -> None:
    """fraudlake: real-time fraud detection on a CDC lakehouse."""


@main.command()
@click.option("--only", help="Comma-separated artifacts to fetch: kafka,spark,debezium,minio (default: all).")
def fetch(only: str | None) -> None:
    """Download and build what the stack runs (Maven jars, MinIO); cached."""
    from fraudlake.stack.artifacts import fetch_all

    fetch_all(cfg.get_path_settings(), only.split(",") if only else None)


@main.command()
@click.option("--only", help="Comma-separated components to start: postgres,kafka,connect,minio,api,lakehouse,prediction,dashboard.")
def up(only: str | None) -> None:
    """Start the local stack and wait until every component is healthy."""
    from fraudlake import stack
    from fraudlake.stack.artifacts import fetch_all

    _prepare_env()
    fetch_all(cfg.get_path_settings())
    stack.up(set(only.split(",")) if only else None, echo=console.print)
    _print_status()


@main.command()
@click.option("--only", help="Comma-separated components to stop.")
def down(only: str | None) -> None:
    """Stop the local stack; its data stays under FRAUDLAKE_RUN_DIR."""
    from fraudlake import stack

    stack.down(set(only.split(",")) if only else None, echo=console.print)


@main.command()
def status() -> None:
    """Each component's state, the connector's state and the topic's end offsets."""
    _print_status()


def _print_status() -> None:
    from fraudlake import stack
    from fraudlake.stack.kafka import Kafka

    table = Table("component", "state", "pid", "port", "restarts", "detail")
    states = stack.status()
    end_offsets: dict[int, int] = {}
    for name, state in states.items():
        detail = state.get("connector") or ""
        if name == "kafka" and state["healthy"]:
            kafka = Kafka(cfg.get_path_settings(), cfg.get_kafka_settings())
            try:
                end_offsets = kafka.end_offsets()
                detail = f"{kafka.settings.kafka_topic} end offsets " + " ".join(
                    f"p{p}={o}" for p, o in end_offsets.items()) + f" (total {sum(end_offsets.values())})"
            except Exception as exc:  # noqa: BLE001 - status reports, it does not fail
                detail = f"topic offsets unavailable: {exc}"
        if "queries" in state:
            detail = "\n".join(_query_line(query, end_offsets) for query in state["queries"])
        word = stack.state_word(state)
        label = f"[{STATE_COLOURS[word]}]{word}[/{STATE_COLOURS[word]}]"
        restarts = state.get("restarts") or {}
        detail = "\n".join(filter(None, [detail, _restart_line(restarts, running=state["pid"] is not None)]))
        table.add_row(name, label, str(state["pid"] or "-"), str(state["port"] or "-"), str(restarts.get("restarts", "-")), detail)
    console.print(table)
    _print_alerts()


def _restart_line(restarts: dict, running: bool) -> str:
    """What the supervisor did last to a component, if anything."""
    if not restarts.get("last_restart_at"):
        return ""
    line = f"last restarted by the supervisor at {restarts['last_restart_at']}"
    if restarts.get("last_error"):
        line += f", which failed: {restarts['last_error']}"
    if not running and restarts.get("next_attempt_in") is not None:
        line += f"; next attempt in {restarts['next_attempt_in']:.0f} s"
    return line


def _query_line(query, end_offsets: dict[int, int]) -> str:
    """One streaming query: its last batch, rates and lag behind the topic."""
    parts = [f"{query.query}: {query.state}", f"batch {query.batch_id}" if query.batch_id is not None else "no batch yet"]
    if query.input_rows_per_second is not None:
        parts.append(f"in {query.input_rows_per_second:,.0f}/s, processed {query.processed_rows_per_second:,.0f}/s")
    lag = query.lag(end_offsets) if end_offsets else None
    if lag is not None:
        parts.append(f"lag {lag:,}")
    parts.append(f"at {query.updated_at:%H:%M:%S}")
    if query.error:
        parts.append(f"error: {query.error.splitlines()[0][:120]}")
    return ", ".join(parts)


def _print_alerts() -> None:
    import psycopg

    from fraudlake.alerts.sender import counts

    try:
        with psycopg.connect(cfg.get_postgres_settings().conninfo(), connect_timeout=2) as conn:
            alerts = counts(conn)
    except psycopg.Error:
        return
    console.print("alerts: " + ", ".join(f"{status} {count:,}" for status, count in alerts.items()))


@main.group()
def connector() -> None:
    """The Debezium connector on Kafka Connect (CONNECT_URL)."""


@connector.command("register")
def connector_register() -> None:
    """Create or update the connector from resources/debezium/connectors/ and wait until it runs."""
    from fraudlake.stack.connect import ConnectClient, register_connector

    settings = cfg.get_connect_settings()
    state = register_connector(ConnectClient(settings.connect_url), settings.connector_name)
    console.print(f"{settings.connector_name}: {state['connector']['state']}")


@main.group()
def env() -> None:
    """The settings file."""


@env.command("example")
def env_example() -> None:
    """Print .env.example as rendered from the settings classes."""
    click.echo(render_example(), nl=False)


@env.command("init")
def env_init() -> None:
    """Create .env from .env.example, generating the secrets."""
    _prepare_env()


if __name__ == "__main__":
    main()
