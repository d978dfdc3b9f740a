"""The jobs' progress listener: what Spark says about a query lands in streaming_progress."""

from __future__ import annotations

import psycopg
import pytest

from fraudlake.streaming.progress import ProgressListener, ProgressStore, read_progress
from tests.streaming.helpers import wait_for

pytestmark = pytest.mark.spark

JOB = "progress-listener-test"


def _fail_at_batch_3(batch, batch_id: int) -> None:
    if batch_id == 3:
        raise ValueError("batch 3 refused on purpose")


def test_each_query_state_batch_and_failure_are_recorded(spark, postgres_service):
    with psycopg.connect(postgres_service.conninfo(), autocommit=True) as db:
        db.execute("DELETE FROM streaming_progress WHERE job = %s", (JOB,))
    listener = ProgressListener(ProgressStore(postgres_service, JOB))
    listener.register(spark)
    try:
        rate = spark.readStream.format("rate").option("rowsPerSecond", 20).load()
        failing = (rate.writeStream.queryName("failing").foreachBatch(_fail_at_batch_3)
                   .trigger(processingTime="200 milliseconds").start())
        stopped = rate.writeStream.queryName("stopped").format("noop").trigger(processingTime="200 milliseconds").start()
        with pytest.raises(Exception, match="batch 3 refused on purpose"):
            failing.awaitTermination(60)
        wait_for(lambda: (stopped.lastProgress or {}).get("batchId", -1) >= 2, timeout=60, interval=0.2,
                 what="the stopped query's third batch")
        stopped.stop()

        def recorded() -> dict:
            return {status.query: status for status in read_progress(postgres_service, JOB)}

        wait_for(lambda: {query: status.state for query, status in recorded().items()}
                 == {"failing": "failed", "stopped": "stopped"}, timeout=60, interval=0.2,
                 what="both queries' ends recorded")
        rows = recorded()
    finally:
        listener.remove(spark)
    failing_row, stopped_row = rows["failing"], rows["stopped"]
    assert failing_row.state == "failed"
    assert "batch 3 refused on purpose" in failing_row.error
    assert failing_row.batch_id == 2  # the last batch that completed
    assert failing_row.progress["name"] == "failing" and failing_row.progress["batchId"] == 2
    assert stopped_row.state == "stopped" and stopped_row.error is None
    assert stopped_row.batch_id >= 2 and stopped_row.input_rows_per_second is not None
