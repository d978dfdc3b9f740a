"""Table upkeep as one run: the lakehouse job paused, gold refreshed if it is built in
batch, every table compacted and vacuumed, each table's size and file count recorded.

Delta on S3 allows one writer per table (no commit lock on MinIO), so compaction
cannot run beside the job; `pause_job` stops the local stack's job for the run and
starts it again afterwards, from its checkpoint, whatever happened in between.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg

from fraudlake import settings as cfg


@dataclass(frozen=True)
class TableStats:
    table: str  # layer/name
    version: int
    files: int
    bytes: int
    rows: int


def table_stats() -> list[TableStats]:
    """Version, live files, their bytes and the rows of every lakehouse table that exists (no JVM)."""
    from deltalake.exceptions import TableNotFoundError

    from fraudlake.lakehouse.gold import ALL_TABLES
    from fraudlake.lakehouse.reader import delta_table, query

    stats = []
    for layer, name in ALL_TABLES:
        try:
            table = delta_table(layer, name)
        except TableNotFoundError:
            continue
        actions = table.get_add_actions(flatten=True)
        rows = query("SELECT count(*) AS n FROM t", t=(layer, name)).column("n")[0].as_py()
        size = sum(value.as_py() or 0 for value in actions.column("size_bytes"))
        stats.append(TableStats(f"{layer}/{name}", table.version(), actions.num_rows, size, rows))
    return stats


def record_stats(stats: list[TableStats]) -> None:
    with psycopg.connect(cfg.get_postgres_settings().conninfo(), autocommit=True, connect_timeout=10) as conn:
        with conn.transaction():
            for s in stats:
                conn.execute("INSERT INTO lakehouse_table_stats (table_name, version, files, bytes, rows) "
                             "VALUES (%s, %s, %s, %s, %s)", (s.table, s.version, s.files, s.bytes, s.rows))


@contextmanager
def job_paused(echo=print) -> Iterator[None]:
    """The local stack's lakehouse job stopped for the block, and started again after it
    (only if it was running)."""
    from fraudlake.stack.jobs import LakehouseJob

    job = LakehouseJob(cfg.get_path_settings(), cfg.get_streaming_settings(), cfg.get_postgres_settings())
    running = job.pid() is not None
    if running:
        echo("pausing the lakehouse job")
        job.stop()
    try:
        yield
    finally:
        if running:
            echo("starting the lakehouse job again")
            job.start()


def upkeep(spark, echo=print) -> dict:
    """Gold (when batch-built), compaction and vacuum; returns the figures before and after."""
    from fraudlake.lakehouse.gold import optimize, refresh_gold

    streaming = cfg.get_streaming_settings()
    before = table_stats()
    if streaming.gold_refresh_seconds == 0:
        for table, rows in refresh_gold(spark).items():
            echo(f"gold/{table}: {rows} rows")
    for path, result in optimize(spark, streaming.lakehouse_vacuum_retention_hours).items():
        echo(f"{path}: {result['files_removed']} files compacted into {result['files_added']}")
    after = table_stats()
    record_stats(after)
    return {"before": before, "after": after}
