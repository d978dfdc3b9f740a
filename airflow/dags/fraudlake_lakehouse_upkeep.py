"""Hourly lakehouse upkeep: gold refreshed when it is batch-built, every Delta table
compacted and vacuumed, sizes and file counts recorded (`lakehouse_table_stats`).
Without Airflow: `fraudlake lakehouse upkeep --pause-job`."""

from __future__ import annotations

from datetime import timedelta

from airflow import DAG

from fraudlake_tasks import DEFAULT_ARGS, START, fraudlake

with DAG(
    dag_id="fraudlake_lakehouse_upkeep",
    description="Gold refresh, compaction and vacuum of the Delta tables, table sizes",
    schedule="@hourly",
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    dagrun_timeout=timedelta(hours=1),
    tags=["fraudlake", "lakehouse"],
) as dag:
    # The lakehouse job is paused for the run: Delta on MinIO allows one writer per table.
    upkeep = fraudlake("upkeep", "lakehouse upkeep --pause-job", execution_timeout=timedelta(minutes=45))
    stats = fraudlake("table_stats", "lakehouse stats", execution_timeout=timedelta(minutes=5))
    upkeep >> stats
