"""`fraudlake lakehouse …`: run the lakehouse job, refresh gold, keep the tables small."""

from __future__ import annotations

import sys

import click

from fraudlake import settings as cfg
from fraudlake.errors import FraudlakeError


@click.group()
def lakehouse() -> None:
    """The Delta tables on MinIO (bronze, silver, gold) and the job that writes them."""


@lakehouse.command("run")
def run_command() -> None:
    """Run the lakehouse streaming job in the foreground (what `make up` starts)."""
    from fraudlake.lakehouse.job import main

    sys.exit(main())


def _refuse_while_the_job_runs() -> None:
    """Delta on S3 allows one writer per table: the job's, while it runs."""
    from datetime import UTC, datetime, timedelta

    from fraudlake.streaming.progress import read_progress

    recent = datetime.now(UTC) - timedelta(seconds=60)
    running = [q for q in read_progress(cfg.get_postgres_settings(), "lakehouse")
               if q.state == "running" and q.updated_at > recent]
    if running:
        raise FraudlakeError(
            "the lakehouse job is running, and Delta on S3 allows one writer per table; stop it first "
            "(`fraudlake down --only lakehouse`, or `docker compose stop lakehouse-job`), then start it again.")


@lakehouse.command("gold")
def gold_command() -> None:
    """Recompute the gold tables from silver now (the job does it every GOLD_REFRESH_SECONDS)."""
    from fraudlake.lakehouse.gold import refresh_gold
    from fraudlake.spark import build_spark_session

    _refuse_while_the_job_runs()
    spark = build_spark_session("fraudlake-gold")
    for table, rows in refresh_gold(spark).items():
        click.echo(f"gold/{table}: {rows} rows")
    spark.stop()


@lakehouse.command("optimize")
def optimize_command() -> None:
    """Compact small files and vacuum, keeping LAKEHOUSE_VACUUM_RETENTION_HOURS of history."""
    from fraudlake.lakehouse.gold import optimize
    from fraudlake.spark import build_spark_session

    _refuse_while_the_job_runs()
    spark = build_spark_session("fraudlake-optimize")
    for path, result in optimize(spark, cfg.get_streaming_settings().lakehouse_vacuum_retention_hours).items():
        click.echo(f"{path}: {result['files_removed']} files compacted into {result['files_added']}")
    spark.stop()
