"""The realtime prediction job: CDC topic → prediction API → `fraud_predictions` and
the alert ledger, and a Delta copy of the predictions for notebooks.

It reads Kafka directly (not bronze) for latency. Each micro-batch is handled on the
driver: the records are decoded by `fraudlake.cdc` (the one decoder), creates and
snapshot reads kept, deduplicated by `trans_num` within the batch and against what
is already stored, scored in chunks, and saved in one PostgreSQL transaction. An
outage of the API or of PostgreSQL holds the batch and retries it; Spark commits the
batch's offsets only once it returns, so no transaction is skipped, and the inserts'
ON CONFLICT DO NOTHING means none is scored twice.

Alerts leave the job as ledger rows, committed with their predictions; the alert
sender, a process of its own (fraudlake.alerts.service), posts them to Slack, so a
crash of this job repeats no Slack message. One thread works beside the query: the
exporter appends new predictions to `gold/fraud_predictions` by id, resuming from
the highest id the Delta table holds.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

import httpx
import psycopg
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from fraudlake import settings as cfg
from fraudlake.cdc import CdcDecodeError, ChangeEvent, Op, decode_event
from fraudlake.prediction.client import ApiUnavailable, PredictionClient
from fraudlake.prediction.retry import until_done
from fraudlake.prediction.store import PredictionStore, Scored
from fraudlake.schema import COLUMN_NAMES
from fraudlake.spark import lakehouse_uri
from fraudlake.streaming.checkpoints import JOB_QUERIES
from fraudlake.streaming.runner import run_job
from fraudlake.streaming.source import read_cdc_topic

log = logging.getLogger("fraudlake.prediction")

SCORED_OPS = (Op.CREATE, Op.READ)
GOLD_PREDICTIONS = ("gold", "fraud_predictions")
EXPORT_BATCH_ROWS = 100_000
_DB_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError)


def new_transactions(values: list[bytes | None]) -> list[ChangeEvent]:
    """The creates and snapshot reads among a batch's record values, first of each
    `trans_num` kept. Records that are not change events are left to the lakehouse
    job, which quarantines them; here they are counted and skipped."""
    seen: dict[str, ChangeEvent] = {}
    undecodable = 0
    for value in values:
        try:
            event = decode_event(None, value)
        except CdcDecodeError:
            undecodable += 1
            continue
        if event is not None and event.op in SCORED_OPS and event.after and event.trans_num not in seen:
            seen[event.trans_num] = event
    if undecodable:
        log.warning("skipped %d records that are not change events (see the bronze quarantine)", undecodable)
    return list(seen.values())


def api_payload(event: ChangeEvent) -> dict:
    return {name: event.after[name] for name in COLUMN_NAMES}


class PredictionWriter:
    """foreachBatch of the prediction query."""

    def __init__(self, store: PredictionStore, client: PredictionClient, stopping: threading.Event):
        self.store = store
        self.client = client
        self.stopping = stopping
        self.max_wait = cfg.get_streaming_settings().prediction_retry_max_seconds

    def _retry(self, action, what: str, retryable: tuple[type[BaseException], ...]):
        return until_done(action, what=what, retryable=retryable, stopping=self.stopping, max_wait=self.max_wait)

    def __call__(self, records: DataFrame, batch_id: int) -> None:
        started = time.perf_counter()
        # collect() beat toArrow() for batches of a few thousand small records.
        values = [row.value for row in records.select("value").collect()]
        read = time.perf_counter()
        scored = self.handle(new_transactions(values))
        log.info("batch %d: %d records, %d scored; read %.0f ms, scored and saved %.0f ms", batch_id, len(values),
                 scored, (read - started) * 1000, (time.perf_counter() - read) * 1000)

    def handle(self, events: list[ChangeEvent]) -> int:
        """Score and save the events not done yet; how many were scored."""
        if not events:
            return 0
        done = self._retry(lambda: self.store.already_done([e.trans_num for e in events]),
                           "reading fraud_predictions", _DB_ERRORS)
        todo = {e.trans_num: e for e in events if e.trans_num not in done}
        if not todo:
            return 0
        predictions, refused = self._retry(lambda: self.client.score([api_payload(e) for e in todo.values()]),
                                           "calling the prediction API", (ApiUnavailable, httpx.HTTPError))
        scored = [Scored(p, todo[p["trans_num"]].after.get("created_at"), todo[p["trans_num"]].lsn)
                  for p in predictions]
        refused_with_lsn = [(r, todo[r.payload["trans_num"]].lsn) for r in refused]
        for r in refused:
            log.warning("prediction API refused %s: %s", r.payload["trans_num"], r.reason)
        self._retry(lambda: self.store.save(scored, refused_with_lsn), "saving predictions", _DB_ERRORS)
        return len(scored)


def export_predictions(spark: SparkSession, stopping: threading.Event) -> None:
    """Copy new `fraud_predictions` rows to gold/fraud_predictions, exactly once by id."""
    streaming = cfg.get_streaming_settings()
    store = PredictionStore(cfg.get_postgres_settings(), cfg.get_alert_settings().alert_min_level, False)
    path = lakehouse_uri(*GOLD_PREDICTIONS)
    last_id: int | None = None
    while not stopping.wait(streaming.prediction_export_seconds):
        try:
            if last_id is None:
                last_id = _highest_exported_id(spark, path)
            last_id = export_round(spark, store, path, last_id)
        except Exception as exc:  # noqa: BLE001 - MinIO or PostgreSQL away: try again next round
            log.warning("copying predictions to %s failed: %s", path, str(exc).splitlines()[0][:300])
            last_id = None  # re-read from the table: the failed append may or may not have committed
    store.close()


def export_round(spark: SparkSession, store: PredictionStore, path: str, last_id: int,
                 chunk_rows: int = EXPORT_BATCH_ROWS) -> int:
    """Append the predictions after `last_id` to the Delta table; the new last id.

    One append, and more only while a backlog fills whole chunks: under a steady feed
    there is always a newer row, and appending until there was none kept a Delta
    commit going every second."""
    while rows := store.predictions_after(last_id, chunk_rows):
        spark.createDataFrame(rows, PREDICTION_EXPORT_SCHEMA).write.format("delta").mode("append").save(path)
        last_id = rows[-1][0]
        if len(rows) < chunk_rows:
            break
    return last_id


PREDICTION_EXPORT_SCHEMA = (
    "id bigint, trans_num string, fraud_probability double, is_fraud_predicted boolean, risk_level string, "
    "model_version string, transaction_created_at timestamp, source_lsn bigint, predicted_at timestamp, "
    "top_features string")


def _highest_exported_id(spark: SparkSession, path: str) -> int:
    from delta.tables import DeltaTable

    if not DeltaTable.isDeltaTable(spark, path):
        return 0
    return spark.read.format("delta").load(path).agg(F.max("id")).first()[0] or 0


def start_queries(spark: SparkSession, stopping: threading.Event) -> list[StreamingQuery]:
    streaming, kafka, alerts = cfg.get_streaming_settings(), cfg.get_kafka_settings(), cfg.get_alert_settings()
    writer = PredictionWriter(
        PredictionStore(cfg.get_postgres_settings(), alerts.alert_min_level, alerts.slack_webhook_url is not None),
        PredictionClient(cfg.get_api_settings(), streaming), stopping)
    # With no checkpoint the query starts at STREAMING_STARTING_OFFSETS; what it reads
    # again is already in fraud_predictions and is skipped.
    records = read_cdc_topic(spark, kafka, starting=streaming.streaming_starting_offsets,
                             max_offsets=streaming.prediction_max_offsets_per_trigger)
    return [records.writeStream.queryName("prediction").foreachBatch(writer)
            .option("checkpointLocation", lakehouse_uri(*JOB_QUERIES["prediction"]["prediction"]))
            .trigger(processingTime=f"{streaming.prediction_trigger_seconds} seconds").start()]


def main() -> int:
    streaming = cfg.get_streaming_settings()
    return run_job("prediction", start_queries, ui_port=streaming.prediction_ui_port,
                   driver_memory=streaming.prediction_driver_memory, background=(export_predictions,))


if __name__ == "__main__":
    sys.exit(main())
