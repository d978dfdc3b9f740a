"""Gold tables recomputed from silver, and table upkeep (compaction, vacuum)."""

from __future__ import annotations

from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from fraudlake.lakehouse.tables import BRONZE, GOLD, QUARANTINE, SILVER, uri
from fraudlake.lakehouse.transforms import GOLD_INPUT_COLUMNS, GOLD_TABLES


def refresh_gold(spark: SparkSession) -> dict[str, int]:
    """Overwrite every gold table from the current silver; rows written per table."""
    silver = spark.read.format("delta").load(uri(SILVER)).select(*GOLD_INPUT_COLUMNS).cache()
    try:
        written = {}
        for name, aggregate in GOLD_TABLES.items():
            table = aggregate(silver).cache()
            table.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(uri(GOLD[name]))
            written[name] = table.count()
            table.unpersist()
        return written
    finally:
        silver.unpersist()


ALL_TABLES = (BRONZE, QUARANTINE, SILVER, *GOLD.values())


def optimize(spark: SparkSession, retention_hours: int, tables: tuple[tuple[str, ...], ...] = ALL_TABLES) -> dict[str, dict]:
    """Compact small files (micro-batches write many) and vacuum what no version needs."""
    # Delta refuses a retention under 7 days unless told the reader window is known.
    spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", str(retention_hours >= 168).lower())
    report = {}
    for table in tables:
        path = uri(table)
        if not DeltaTable.isDeltaTable(spark, path):
            continue
        delta = DeltaTable.forPath(spark, path)
        metrics = delta.optimize().executeCompaction().select("metrics.numFilesAdded", "metrics.numFilesRemoved").first()
        delta.vacuum(retention_hours)
        report[path] = {"files_added": metrics.numFilesAdded, "files_removed": metrics.numFilesRemoved}
    return report
