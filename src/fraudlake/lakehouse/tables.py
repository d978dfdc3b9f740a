"""Where the lakehouse's tables and checkpoints live, and their creation.

Every table is created empty, with its schema, when the job starts, so readers
(notebooks, the silver query's Delta source) find it before the first event. The
schemas come from the transforms themselves applied to an empty Kafka batch, so a
column added to a transform is a column of the table.
"""

from __future__ import annotations

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


def uri(table: tuple[str, ...]) -> str:
    return lakehouse_uri(*table)


def _empty_batch(spark: SparkSession) -> DataFrame:
    return decode_cdc(spark.createDataFrame([], KAFKA_RECORD_SCHEMA))


def silver_schema(spark: SparkSession) -> StructType:
    bronze = bronze_rows(_empty_batch(spark))
    return bronze.select(*[c for c in SILVER_COLUMNS if c != "updated_at"],
                         F.current_timestamp().alias("updated_at")).schema


def ensure_tables(spark: SparkSession) -> None:
    """Create bronze, quarantine and silver if they do not exist yet, and give bronze
    the checkpoint interval of the settings (also a table made before the setting)."""
    decoded = _empty_batch(spark)
    interval = str(cfg.get_streaming_settings().lakehouse_bronze_checkpoint_interval)
    bronze = (DeltaTable.createIfNotExists(spark).location(uri(BRONZE)).addColumns(bronze_rows(decoded).schema)
              .partitionedBy("event_date").property(CHECKPOINT_INTERVAL, interval).execute())
    if bronze.detail().first().properties.get(CHECKPOINT_INTERVAL) != interval:
        # A commit of metadata only: the silver query's Delta source reads it and goes on,
        # since the schema is unchanged.
        spark.sql(f"ALTER TABLE delta.`{uri(BRONZE)}` SET TBLPROPERTIES ('{CHECKPOINT_INTERVAL}' = '{interval}')")
    DeltaTable.createIfNotExists(spark).location(uri(QUARANTINE)).addColumns(quarantine_rows(decoded).schema).execute()
    # Deletion vectors make the MERGE's updates and deletes mark rows instead of
    # rewriting whole files; deltalake and DuckDB read them.
    (DeltaTable.createIfNotExists(spark).location(uri(SILVER)).addColumns(silver_schema(spark))
     .property("delta.enableDeletionVectors", "true").execute())


def last_offsets(spark: SparkSession, table: tuple[str, ...]) -> dict[int, int]:
    """The highest Kafka offset per partition already in a table."""
    rows = (spark.read.format("delta").load(uri(table))
            .groupBy("kafka_partition").agg(F.max("kafka_offset").alias("last")).collect())
    return {row.kafka_partition: row.last for row in rows}
