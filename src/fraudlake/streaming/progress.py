"""Where the streaming jobs say how they are doing: the `streaming_progress` table.

Each job's Spark listener writes its queries' latest `StreamingQueryProgress` there
(one row per job and query). `make status`, the restart script and the dashboard
read it, in the local stack and under docker compose alike, because PostgreSQL is
reachable from everywhere the jobs run. Writing is best effort: a job never stops
because PostgreSQL is down; its status just goes stale.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime

import psycopg
from pyspark.java_gateway import ensure_callback_server_started
from pyspark.sql import SparkSession

from fraudlake.settings import PostgresSettings

log = logging.getLogger(__name__)

_UPSERT = """
INSERT INTO streaming_progress (job, query, pid, batch_id, state, error, progress, updated_at)
VALUES (%(job)s, %(query)s, %(pid)s, %(batch_id)s, %(state)s, %(error)s, %(progress)s, now())
ON CONFLICT (job, query) DO UPDATE SET
    pid = EXCLUDED.pid, state = EXCLUDED.state, error = EXCLUDED.error, updated_at = now(),
    batch_id = COALESCE(EXCLUDED.batch_id, streaming_progress.batch_id),
    progress = COALESCE(EXCLUDED.progress, streaming_progress.progress)
"""


class ProgressStore:
    """Upserts rows of `streaming_progress`, reconnecting after PostgreSQL comes back."""

    def __init__(self, postgres: PostgresSettings, job: str):
        self.postgres = postgres
        self.job = job
        self.pid = os.getpid()
        self._conn: psycopg.Connection | None = None

    def record(self, query: str, state: str, *, batch_id: int | None = None, error: str | None = None,
               progress: dict | None = None) -> None:
        row = {"job": self.job, "query": query, "pid": self.pid, "batch_id": batch_id, "state": state,
               "error": error, "progress": json.dumps(progress) if progress is not None else None}
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self.postgres.conninfo(), autocommit=True, connect_timeout=3)
            self._conn.execute(_UPSERT, row)
        except psycopg.Error as exc:
            log.warning("could not record %s/%s progress in PostgreSQL: %s", self.job, query, exc)
            self._conn = None


    def mark_stopped(self) -> None:
        """Every row of this process: stopped. Spark's own termination events may not be
        delivered once its context stops."""
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self.postgres.conninfo(), autocommit=True, connect_timeout=3)
            self._conn.execute("UPDATE streaming_progress SET state = 'stopped', updated_at = now() "
                               "WHERE job = %s AND pid = %s AND state = 'running'", (self.job, self.pid))
        except psycopg.Error as exc:
            log.warning("could not record that %s stopped: %s", self.job, exc)
            self._conn = None


class ProgressListener:
    """Spark's query events, written to the progress table as they happen.

    It implements the JVM's listener interface itself (through Py4J) and reads each
    event as its JSON: one call into the JVM per event. pyspark's StreamingQueryListener
    rebuilds a progress event field by field, with a call into the JVM for each, and
    those calls ran on Spark's listener thread: 53–65 ms of its CPU per event, against
    1.6 ms this way (a local no-op query, 30 events each). That was 0.15 of a core in
    the prediction job, whose 0.25-s trigger makes 2–4 progress events a second.
    """

    def __init__(self, store: ProgressStore):
        self.store = store
        self._names: dict[str, str] = {}  # query id -> name: idle and termination events carry only the id

    def register(self, spark: SparkSession) -> None:
        # The JVM wrapper pyspark's own addListener uses; pyspark is pinned, and
        # tests/streaming/test_progress.py would catch an upgrade that moves it.
        ensure_callback_server_started(spark.sparkContext._gateway)
        self._jlistener = spark.sparkContext._jvm.org.apache.spark.sql.streaming.PythonStreamingQueryListenerWrapper(self)
        spark._jsparkSession.streams().addListener(self._jlistener)

    def remove(self, spark: SparkSession) -> None:
        spark._jsparkSession.streams().removeListener(self._jlistener)

    def onQueryStarted(self, jevent) -> None:
        event = json.loads(jevent.json())
        self._names[event["id"]] = event["name"]
        self.store.record(event["name"], "running")

    def onQueryProgress(self, jevent) -> None:
        progress = json.loads(jevent.json())["progress"]
        self.store.record(progress["name"], "running", batch_id=progress["batchId"], progress=progress)

    def onQueryIdle(self, jevent) -> None:
        # Keeps updated_at fresh while no data arrives, so "healthy" means "alive now".
        self.store.record(self._name_of(json.loads(jevent.json())), "running")

    def onQueryTerminated(self, jevent) -> None:
        event = json.loads(jevent.json())
        state = "failed" if event["exception"] else "stopped"
        self.store.record(self._name_of(event), state, error=(event["exception"] or "")[:2000] or None)

    def _name_of(self, event: dict) -> str:
        return self._names.get(event["id"], "?")

    class Java:
        implements = ["org.apache.spark.sql.streaming.PythonStreamingQueryListener"]


@dataclass(frozen=True)
class QueryStatus:
    job: str
    query: str
    pid: int
    state: str
    batch_id: int | None
    error: str | None
    updated_at: datetime
    progress: dict | None

    @property
    def input_rows_per_second(self) -> float | None:
        return (self.progress or {}).get("inputRowsPerSecond")

    @property
    def processed_rows_per_second(self) -> float | None:
        return (self.progress or {}).get("processedRowsPerSecond")

    def kafka_offsets(self) -> dict[int, int]:
        """The next offset per partition of the Kafka topic this query has processed."""
        for source in (self.progress or {}).get("sources", []):
            if str(source.get("description", "")).startswith("KafkaV2") and source.get("endOffset"):
                (offsets,) = source["endOffset"].values()
                return {int(p): int(o) for p, o in offsets.items()}
        return {}

    def lag(self, end_offsets: dict[int, int]) -> int | None:
        """Kafka records not yet processed: end offsets minus what this query has done."""
        done = self.kafka_offsets()
        if not done:
            return None
        return sum(max(end - done.get(partition, 0), 0) for partition, end in end_offsets.items())


def read_progress(postgres: PostgresSettings, job: str | None = None) -> list[QueryStatus]:
    """The progress rows (of one job, or all), as QueryStatus."""
    with psycopg.connect(postgres.conninfo(), connect_timeout=3) as conn:
        rows = conn.execute(
            "SELECT job, query, pid, state, batch_id, error, updated_at, progress FROM streaming_progress "
            "WHERE %(job)s::text IS NULL OR job = %(job)s ORDER BY job, query", {"job": job}).fetchall()
    return [QueryStatus(*row) for row in rows]
