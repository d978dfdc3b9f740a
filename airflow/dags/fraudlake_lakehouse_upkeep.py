"""Hourly lakehouse upkeep: gold refreshed when it is batch-built, every Delta table
compacted and vacuumed, sizes and file counts recorded (`lakehouse_table_stats`).
Without Airflow: `fraudlake lakehouse upkeep --pause-job`."""

from __future__ import annotations

from datetime import timedelta

from fraudlake_tasks import fraudlake, fraudlake_dag

with fraudlake_dag(
    "fraudlake_lakehouse_upkeep",
    description="Gold refresh, compaction and vacuum of the Delta tables, table sizes",
    schedule="@hourly",
    timeout=timedelta(hours=1),
    tags=["lakehouse"],
) as dag:
    # The lakehouse job is paused for the run: Delta on MinIO allows one writer per table.
    upkeep = fraudlake("upkeep", "lakehouse upkeep --pause-job", execution_timeout=timedelta(minutes=45))
    stats = fraudlake("table_stats", "lakehouse stats", execution_timeout=timedelta(minutes=5))
    upkeep >> stats
