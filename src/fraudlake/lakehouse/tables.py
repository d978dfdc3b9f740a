"""Where the lakehouse's tables and checkpoints live, and their creation.

Every table is created empty, with its schema, when the job starts, so readers
(notebooks, the silver query's Delta source) find it before the first event. The
schemas come from the transforms themselves applied to an empty Kafka batch, so a
column added to a transform is a column of the table.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from fraudlake import settings as cfg
from fraudlake.lakehouse.transforms import GOLD_TABLES, SILVER_COLUMNS, bronze_rows, quarantine_rows
from fraudlake.spark import lakehouse_uri
from fraudlake.streaming.cdc import decode_cdc

BRONZE = ("bronze", "transactions")
QUARANTINE = ("bronze", "transactions_quarantine")
SILVER = ("silver", "transactions")
GOLD = {name: ("gold", name) for name in GOLD_TABLES}

CHECKPOINT_INTERVAL = "delta.checkpointInterval"

KAFKA_RECORD_SCHEMA = ("key binary, value binary, topic string, partition int, offset bigint, "
                       "timestamp timestamp, timestampType int")


def uri(table: tuple[str, ...], root: str | None = None) -> str:
    """Where a table lives: in the lakehouse bucket, or under `root` (a test's directory)."""
    return "/".join([root, *table]) if root else lakehouse_uri(*table)


def _empty_batch(spark: SparkSession) -> DataFrame:
    return decode_cdc(spark.createDataFrame([], KAFKA_RECORD_SCHEMA))


def silver_schema(spark: SparkSession) -> StructType:
    bronze = bronze_rows(_empty_batch(spark), datetime.now(timezone.utc))
    return bronze.select(*[c for c in SILVER_COLUMNS if c != "updated_at"],
                         F.current_timestamp().alias("updated_at")).schema


def bronze_properties() -> dict[str, str]:
    return {CHECKPOINT_INTERVAL: str(cfg.get_streaming_settings().lakehouse_bronze_checkpoint_interval)}


# Deletion vectors make the MERGE's updates and deletes mark rows instead of rewriting
# whole files; deltalake and DuckDB read them. A MERGE reads the key of every silver
# row, and on S3 each file costs requests and a footer whatever its size: 116 files of
# 1.8M rows took 2.6 s to scan, one file 0.8 s (stack idle). So each MERGE writes one
# file (optimized write) and the MERGE that leaves LAKEHOUSE_SILVER_COMPACT_MIN_FILES
# small files compacts them (auto compaction; not while bronze is catching up, see
# job.SilverWriter), instead of the count growing by four a batch until
# `fraudlake lakehouse optimize` runs.
SILVER_PROPERTIES = {
    "delta.enableDeletionVectors": "true",
    "delta.autoOptimize.optimizeWrite": "true",
    "delta.autoOptimize.autoCompact": "true",
}


def _ensure_properties(spark: SparkSession, table: tuple[str, ...], properties: dict[str, str],
                       root: str | None = None) -> None:
    """Give a table made before a property was set (or with another value) the property.
    A commit of metadata only: a Delta source reading the table goes on, the schema is
    unchanged."""
    current = DeltaTable.forPath(spark, uri(table, root)).detail().first().properties
    changed = {key: value for key, value in properties.items() if current.get(key) != value}
    if changed:
        assignments = ", ".join(f"'{key}' = '{value}'" for key, value in changed.items())
        spark.sql(f"ALTER TABLE delta.`{uri(table, root)}` SET TBLPROPERTIES ({assignments})")


def _create(spark: SparkSession, table: tuple[str, ...], schema: StructType, properties: dict[str, str],
            partitioned_by: str | None = None, root: str | None = None) -> None:
    builder = DeltaTable.createIfNotExists(spark).location(uri(table, root)).addColumns(schema)
    if partitioned_by:
        builder = builder.partitionedBy(partitioned_by)
    for key, value in properties.items():
        builder = builder.property(key, value)
    builder.execute()
    if properties:
        _ensure_properties(spark, table, properties, root)


def ensure_tables(spark: SparkSession, root: str | None = None) -> None:
    """Create bronze, quarantine and silver if they do not exist yet, with the table
    properties above (also on a table made before them)."""
    decoded = _empty_batch(spark)
    now = datetime.now(timezone.utc)
    _create(spark, BRONZE, bronze_rows(decoded, now).schema, bronze_properties(), "event_date", root)
    _create(spark, QUARANTINE, quarantine_rows(decoded, now).schema, {}, root=root)
    _create(spark, SILVER, silver_schema(spark), SILVER_PROPERTIES, root=root)


def last_offsets(spark: SparkSession, table: tuple[str, ...], root: str | None = None) -> dict[int, int]:
    """The highest Kafka offset per partition already in a table."""
    rows = (spark.read.format("delta").load(uri(table, root))
            .groupBy("kafka_partition").agg(F.max("kafka_offset").alias("last")).collect())
    return {row.kafka_partition: row.last for row in rows}


# Each bronze write records, as its commit's userMetadata, the offsets through which
# bronze and the quarantine both held every record when the write began
# (job.BronzeWriter): a query started without its checkpoint resumes after them.
COMPLETE_THROUGH = "complete_through"
# Bronze's own commits a resume looks back through for that record: maintenance
# (`fraudlake lakehouse optimize`) adds a commit or three between writes.
RECORD_DEPTH = 20


def complete_through_metadata(offsets: dict[int, int]) -> str:
    return json.dumps({COMPLETE_THROUGH: {str(partition): offset for partition, offset in sorted(offsets.items())}})


def recorded_complete_through(spark: SparkSession, root: str | None = None) -> dict[int, int] | None:
    """What bronze's latest write recorded (see COMPLETE_THROUGH); None if no recent
    commit has it (a table written before it was recorded, or never written)."""
    latest = (DeltaTable.forPath(spark, uri(BRONZE, root)).history(RECORD_DEPTH)
              .where(F.col("userMetadata").contains(COMPLETE_THROUGH))
              .orderBy(F.col("version").desc()).select("userMetadata").first())
    if latest is None:
        return None
    return {int(partition): offset for partition, offset in json.loads(latest.userMetadata)[COMPLETE_THROUGH].items()}
