"""The lakehouse job: CDC topic → bronze (+ quarantine) → silver → gold, on MinIO.

Two queries in one driver:

- **bronze** reads Kafka and appends each change event to bronze once, bad records
  to the quarantine. Exactly once by offsets: the writer knows the last offset each
  table holds per partition (read from the table at start, kept in memory after:
  Delta on S3 has a single writer per table) and appends only records past it. A
  batch replayed after a crash therefore writes nothing twice, and a query whose
  checkpoint was cleared starts from the offsets bronze's last commit recorded instead
  of re-reading the topic.
  Chosen over Delta's txnAppId/txnVersion, which is keyed by the checkpoint's batch
  ids and so cannot tell a cleared checkpoint's batch 0 from the old one.
- **silver** streams bronze (a Delta source, its own checkpoint) into a MERGE that
  keeps the current state of `transactions`: highest LSN wins, a delete removes the
  row. Replays are harmless (an equal LSN changes nothing), and a MERGE's cost never
  delays bronze. Gold is recomputed from silver every GOLD_REFRESH_SECONDS: the
  aggregates must follow updates and deletes, which an incremental sum would need
  retractions for, and a full pass over silver takes seconds. That refresh and
  silver's compaction wait while bronze is catching up (see SilverWriter).
"""

from __future__ import annotations

import itertools
import logging
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

from confluent_kafka import KafkaException
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from fraudlake import settings as cfg
from fraudlake.lakehouse import transforms as T
from fraudlake.lakehouse.gold import refresh_gold
from fraudlake.lakehouse.tables import (
    BRONZE, QUARANTINE, SILVER, complete_through_metadata, ensure_tables, last_offsets, recorded_complete_through, uri,
)
from fraudlake.spark import lakehouse_uri
from fraudlake.stack.kafka import TopicUnavailable, topic_end_offsets
from fraudlake.streaming.cdc import decode_cdc
from fraudlake.streaming.checkpoints import JOB_QUERIES, checkpoint_exists
from fraudlake.streaming.runner import run_job
from fraudlake.streaming.source import read_cdc_topic, starting_offsets

log = logging.getLogger("fraudlake.lakehouse")


# Silver's MERGE and gold refresh read all of silver. With both cores, the gold refresh
# of 2M rows held both for a minute under load, and bronze batches that take 1–3 s took
# 7–16 s waiting for a free core. So the job's stages run one task each (a shuffle of one
# partition, a scan of one split: files are packed up to maxPartitionBytes): silver uses
# one core at a time and bronze finds the other free. Bronze's own stages are its Kafka
# partitions, a shuffle of a few rows and a one-file write, so it loses nothing.
# Set on the job's session before the queries start, and again on each query's session
# every batch: a query restarted from a checkpoint gets the shuffle partitions the
# checkpoint recorded, and Delta reads some settings from one session, some from the other.
def job_conf(compact_min_files: int) -> dict[str, str]:
    return {
        "spark.sql.shuffle.partitions": "1",
        "spark.sql.files.minPartitionNum": "1",
        "spark.sql.files.maxPartitionBytes": str(8 << 30),
        # The threshold of silver's auto compaction (tables.SILVER_PROPERTIES).
        "spark.databricks.delta.autoCompact.minNumFiles": str(compact_min_files),
        # Delta's default rule compacts a table at the first MERGE after a restart whatever
        # the threshold, and, each time the file it compacts into is still small (< 64 MB),
        # again at the next MERGE: a steady run after a restart rewrote 32-42 MB of silver
        # after every 30-s MERGE, 84 s of a core under load. Without it the threshold holds
        # (counted from the small files this driver wrote; any older ones join the compaction).
        "spark.databricks.delta.autoCompact.modifiedPartitionsOnly.enabled": "false",
    }


def configure(session: SparkSession, conf: dict[str, str]) -> None:
    for key, value in conf.items():
        session.conf.set(key, value)


class BronzeWriter:
    """foreachBatch of the bronze query: one pass that decodes the batch and appends its
    good events to bronze, the quarantine only when the batch has bad ones.

    Each table gets only records past the offsets it already holds (`written`), so a
    replayed batch writes nothing twice (Delta makes no commit of an empty append).
    Bronze is written first, the quarantine after it; so that a crash between the two
    and a cleared checkpoint cannot lose a bad record, each bronze commit records
    `complete`, the offsets through which both tables held everything when it began,
    and a query without a checkpoint resumes there (see start_bronze).

    The batch is decoded once and not cached: what the writer must know of it (the
    quarantine's share, the last offset per partition) is observed during the append.
    A cached decode with a job of its own to ask it cost 2.18 s of CPU per
    5,000-record batch; this, 1.51 s (idle, after JIT warm-up; README).
    """

    def __init__(self, spark: SparkSession, conf: dict[str, str] | None = None, *,
                 partitions: list[int] | None = None, root: str | None = None):
        self.root = root  # of the tables (see tables.uri); a test's directory, or the lakehouse
        self.written = {table: last_offsets(spark, table, root) for table in (BRONZE, QUARANTINE)}
        recorded = recorded_complete_through(spark, root)
        # A table written before bronze recorded it was written quarantine first, so
        # bronze's own offsets were complete.
        self.complete = dict(self.written[BRONZE]) if recorded is None else recorded
        self.conf = conf or {}
        self.partitions = partitions or []  # the topic's, looked up at the first batch if not given
        self.observations = itertools.count()

    def __call__(self, records: DataFrame, batch_id: int) -> None:
        started = time.perf_counter()
        configure(records.sparkSession, self.conf)
        if not self.partitions:
            self.partitions = sorted(topic_end_offsets(cfg.get_kafka_settings()))
        now = datetime.now(timezone.utc)
        seen = Observation(f"bronze_{next(self.observations)}")
        # The observation also keeps Spark from pushing bronze's filters below the
        # decode, into copies of the JSON parse (see decode_cdc).
        decoded = decode_cdc(records).observe(seen, *T.batch_marks(self.partitions))
        self._append(BRONZE, T.bronze_rows(decoded, now), partition_by="event_date",
                     metadata=complete_through_metadata(self.complete))
        marks = seen.get
        if marks["quarantined"]:
            self._quarantine(records, now)
        last = {partition: marks[f"last_{partition}"] for partition in self.partitions
                if marks[f"last_{partition}"] is not None}
        if marks["other_partitions"]:  # the topic has grown partitions since the first batch
            last = {row.partition: row.last for row in records.where(F.col("value").isNotNull())
                    .groupBy("partition").agg(F.max("offset").alias("last")).collect()}
            self.partitions = sorted({*self.partitions, *last})
        for offsets in (*self.written.values(), self.complete):
            for partition, offset in last.items():
                offsets[partition] = max(offset, offsets.get(partition, -1))
        log.info("bronze batch %d: %d events (%d quarantined) in %.0f ms", batch_id, marks["events"],
                 marks["quarantined"], (time.perf_counter() - started) * 1000)

    def _quarantine(self, records: DataFrame, now: datetime) -> None:
        # Decoded again, only for a batch holding bad records, and cached before the
        # quarantine's filter (see decode_cdc).
        decoded = decode_cdc(records).persist()
        try:
            self._append(QUARANTINE, T.quarantine_rows(decoded, now))
        finally:
            decoded.unpersist()

    def records_behind(self) -> int:
        """Records in the topic that neither bronze nor the quarantine holds yet (a
        delete's tombstone, which neither stores, counts as one)."""
        ends = topic_end_offsets(cfg.get_kafka_settings())
        done = {partition: max(self.written[BRONZE].get(partition, -1), self.written[QUARANTINE].get(partition, -1))
                for partition in ends}
        return sum(max(0, end - done[partition] - 1) for partition, end in ends.items())

    def _append(self, table: tuple[str, ...], rows: DataFrame, partition_by: str | None = None,
                metadata: str | None = None) -> None:
        # One file per table partition a batch: a micro-batch is a few thousand rows, and
        # every file is a Delta log entry that each checkpoint rewrites and every reader opens.
        writer = T.after_offsets(rows, self.written[table]).coalesce(1).write.format("delta").mode("append")
        if partition_by:
            writer = writer.partitionBy(partition_by)
        if metadata:
            writer = writer.option("userMetadata", metadata)
        writer.save(uri(table, self.root))


def merge_changes(silver: DeltaTable, changes: DataFrame) -> None:
    """Apply a batch of bronze rows to silver: the newest change per key, if it is newer."""
    (silver.alias("t")
     .merge(T.latest_change_per_key(changes).alias("s"), T.SILVER_MERGE_CONDITION)
     .whenMatchedDelete(condition=T.SILVER_DELETE_WHEN)
     .whenMatchedUpdate(condition=T.SILVER_UPDATE_WHEN, set=T.silver_values())
     .whenNotMatchedInsert(condition=T.SILVER_INSERT_WHEN, values=T.silver_values())
     .execute())


# Overrides the table's delta.autoOptimize.autoCompact while set (Delta reads the session first).
AUTO_COMPACT_ENABLED = "spark.databricks.delta.autoCompact.enabled"


class SilverWriter:
    """foreachBatch of the silver query: MERGE the newest change per key; refresh gold.

    Upkeep waits while bronze is more than `backlog` records behind the topic (a
    backfill): the gold refresh reads all of silver and auto compaction rewrites its
    small files, each on the core bronze needs to catch up. In a 1.3M-row backfill a
    compaction took 84 s of a core, and the bronze batches beside it took 60–85 s to
    decode instead of ~30 s.

    It also waits one batch more. The batch that starts just as bronze has caught up
    merges what bronze held then, while bronze is still writing its last catch-up
    batch (up to `backlog` records); upkeep in that batch (33 s of a 53-s batch, in
    a 1.3M-row backfill) kept those rows out of silver until the batch after it, 52 s
    after bronze held them. Upkeep runs in the batch after that one, which merges them.
    """

    def __init__(self, spark: SparkSession, conf: dict[str, str], gold_refresh_seconds: float,
                 records_behind: Callable[[], int], backlog: int, path: str | None = None):
        self.spark = spark
        self.conf = conf
        self.gold_refresh_seconds = gold_refresh_seconds
        self.gold_refreshed = 0.0
        self.records_behind = records_behind
        self.backlog = backlog
        self.path = path or uri(SILVER)
        self.caught_up_batches = 1  # consecutive batches that began with bronze caught up

    def catching_up(self) -> bool:
        try:
            return self.records_behind() > self.backlog
        except (TopicUnavailable, KafkaException) as exc:  # bronze fails on its own; upkeep need not wait
            log.warning("silver: cannot tell how far bronze is behind: %s", exc)
            return False

    def upkeep_waits(self) -> bool:
        """Whether this batch leaves compaction and the gold refresh for later (see above)."""
        self.caught_up_batches = 0 if self.catching_up() else self.caught_up_batches + 1
        return self.caught_up_batches < 2

    def __call__(self, changes: DataFrame, batch_id: int) -> None:
        configure(changes.sparkSession, self.conf)
        waits = self.upkeep_waits()
        # Set on both sessions: Delta reads some settings from the job's, some from the query's.
        for session in (self.spark, changes.sparkSession):
            if waits:
                session.conf.set(AUTO_COMPACT_ENABLED, "false")
            else:
                session.conf.unset(AUTO_COMPACT_ENABLED)
        # The table is looked up per batch: a DeltaTable object can keep an old snapshot.
        merge_changes(DeltaTable.forPath(changes.sparkSession, self.path), changes)
        if waits:
            log.info("silver batch %d: bronze %s; compaction and the gold refresh wait", batch_id,
                     "is catching up" if self.caught_up_batches == 0 else "has just caught up")
        elif self.gold_refresh_seconds and time.monotonic() - self.gold_refreshed >= self.gold_refresh_seconds:
            refresh_gold(changes.sparkSession)
            self.gold_refreshed = time.monotonic()


def _checkpoint(query: str) -> str:
    return lakehouse_uri(*JOB_QUERIES["lakehouse"][query])


def start_bronze(spark: SparkSession, writer: BronzeWriter) -> StreamingQuery:
    streaming, kafka = cfg.get_streaming_settings(), cfg.get_kafka_settings()
    starting = streaming.streaming_starting_offsets
    if not checkpoint_exists("bronze"):
        partitions = sorted(topic_end_offsets(kafka))
        resume = {partition: offset + 1 for partition, offset in writer.complete.items()}
        starting = starting_offsets(kafka.kafka_topic, partitions, resume, starting)
        log.info("bronze: no checkpoint; starting at %s", starting)
    records = read_cdc_topic(spark, kafka, starting=starting, max_offsets=streaming.lakehouse_max_offsets_per_trigger)
    return (records.writeStream.queryName("bronze").foreachBatch(writer)
            .option("checkpointLocation", _checkpoint("bronze"))
            .trigger(processingTime=f"{streaming.lakehouse_trigger_seconds} seconds").start())


def start_silver(spark: SparkSession, conf: dict[str, str], bronze: BronzeWriter) -> StreamingQuery:
    streaming = cfg.get_streaming_settings()
    writer = SilverWriter(spark, conf, streaming.gold_refresh_seconds, bronze.records_behind,
                          backlog=streaming.lakehouse_max_offsets_per_trigger)
    changes = spark.readStream.format("delta").load(uri(BRONZE))
    return (changes.writeStream.queryName("silver")
            .foreachBatch(writer)
            .option("checkpointLocation", _checkpoint("silver"))
            .trigger(processingTime=f"{streaming.silver_trigger_seconds} seconds").start())


def _in_pool(spark: SparkSession, pool: str, start: Callable[[], StreamingQuery]) -> StreamingQuery:
    """Start a query whose jobs run in a fair-scheduler pool of their own: a query's
    thread inherits the pool, so a long silver MERGE cannot hold every core while
    bronze's small appends wait behind it (spark.scheduler.mode=FAIR)."""
    spark.sparkContext.setLocalProperty("spark.scheduler.pool", pool)
    try:
        return start()
    finally:
        spark.sparkContext.setLocalProperty("spark.scheduler.pool", None)


def start_queries(spark: SparkSession, stopping: threading.Event) -> list[StreamingQuery]:
    conf = job_conf(cfg.get_streaming_settings().lakehouse_silver_compact_min_files)
    configure(spark, conf)
    ensure_tables(spark)
    writer = BronzeWriter(spark, conf)
    return [_in_pool(spark, "bronze", lambda: start_bronze(spark, writer)),
            _in_pool(spark, "silver", lambda: start_silver(spark, conf, writer))]


def main() -> int:
    return run_job("lakehouse", start_queries, ui_port=cfg.get_streaming_settings().lakehouse_ui_port)


if __name__ == "__main__":
    sys.exit(main())
