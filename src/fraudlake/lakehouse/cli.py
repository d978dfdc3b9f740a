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


@lakehouse.command("upkeep")
@click.option("--pause-job", is_flag=True, help="Stop the local stack's lakehouse job for the run and start it again after.")
def upkeep_command(pause_job: bool) -> None:
    """Refresh gold (when GOLD_REFRESH_SECONDS is 0), compact and vacuum every table, record sizes and file counts."""
    import contextlib

    from fraudlake.lakehouse.upkeep import job_paused, upkeep
    from fraudlake.spark import build_spark_session

    with job_paused(click.echo) if pause_job else contextlib.nullcontext():
        _refuse_while_the_job_runs()
        spark = build_spark_session("fraudlake-upkeep")
        try:
            figures = upkeep(spark, click.echo)
        finally:
            spark.stop()
    before = {s.table: s for s in figures["before"]}
    for s in figures["after"]:
        was = before.get(s.table)
        click.echo(f"{s.table}: version {s.version}, {s.rows:,} rows, {s.files:,} files"
                   + (f" (were {was.files:,})" if was else "") + f", {s.bytes / 2**20:,.2f} MiB")


@lakehouse.command("stats")
def stats_command() -> None:
    """Each table's version, rows, live files and size (read without Spark)."""
    from fraudlake.lakehouse.upkeep import table_stats

    for s in table_stats():
        click.echo(f"{s.table}: version {s.version}, {s.rows:,} rows, {s.files:,} files, {s.bytes / 2**20:,.2f} MiB")
