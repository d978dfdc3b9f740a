"""Running a streaming job: one SparkSession, its queries, and what keeps them going.

A job is a function that starts its queries on a session. The runner checks the
topic first (a clear error naming the setting, before a JVM starts), reports
progress through the listener, and when a query fails (MinIO or Kafka gone) stops
the others, waits JOB_RESTART_SECONDS and starts them again from their checkpoints,
so a job outlives an outage of what it depends on while its status says why.
SIGTERM (`make down`, the restart script) stops the queries and exits 0.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

from pyspark.sql import SparkSession
from pyspark.sql.streaming import StreamingQuery

from fraudlake import settings as cfg
from fraudlake.spark import build_spark_session
from fraudlake.stack.kafka import TopicUnavailable, topic_end_offsets
from fraudlake.streaming.progress import ProgressListener, ProgressStore

log = logging.getLogger("fraudlake.streaming")

# Starts a job's queries; the event is set when the job is told to stop, so a batch
# that waits (for an API that is down, say) can give up and let the job exit.
StartQueries = Callable[[SparkSession, threading.Event], list[StreamingQuery]]
# Work a job does beside its queries (the Delta export of predictions): run in a
# thread from start to SIGTERM, told to stop by the event.
Background = Callable[[SparkSession, threading.Event], None]


def _first_line(error: BaseException | str) -> str:
    # A Py4JJavaError's own text is "An error occurred while calling o85.start"; the
    # Java exception's says what went wrong.
    text = str(getattr(error, "java_exception", error)).strip()
    return text.splitlines()[0][:500] if text else type(error).__name__


def run_job(name: str, start_queries: StartQueries, *, ui_port: int, driver_memory: str | None = None,
            background: tuple[Background, ...] = ()) -> int:
    """Run `start_queries` until SIGTERM; returns the process exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # One INFO line per py4j callback and per HTTP request otherwise.
    for noisy in ("py4j", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    streaming = cfg.get_streaming_settings()
    try:
        topic_end_offsets(cfg.get_kafka_settings())
    except TopicUnavailable as exc:
        log.error("%s job cannot start: %s", name, exc)
        return 2

    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())

    spark = build_spark_session(f"fraudlake-{name}", {"spark.ui.port": str(ui_port)}
                                | ({"spark.driver.memory": driver_memory} if driver_memory else {}))
    store = ProgressStore(cfg.get_postgres_settings(), name)
    ProgressListener(store).register(spark)
    threads = [threading.Thread(target=work, args=(spark, stopping), name=work.__name__, daemon=True)
               for work in background]
    for thread in threads:
        thread.start()
    try:
        while not stopping.is_set():
            failure = _run_until_failure(spark, start_queries, stopping,
                                         started=lambda: store.record("job", "running"))
            if failure is None:
                continue
            if not _driver_alive(spark):
                # Retrying on a dead gateway only repeats "connection refused" forever; the
                # process exits instead, its pid file left, so the supervisor (or compose's
                # restart policy) starts a new driver from the checkpoints.
                log.error("%s job: its Spark driver is gone (%s); exiting", name, failure)
                store.record("job", "failed", error=f"Spark driver gone: {failure}")
                return 1
            log.error("%s job: %s; restarting from the checkpoints in %.0f s", name, failure,
                      streaming.job_restart_seconds)
            store.record("job", "failed", error=failure)
            stopping.wait(streaming.job_restart_seconds)
    finally:
        stopping.set()
        for thread in threads:
            thread.join(timeout=30)
        try:
            spark.stop()
        except Exception:  # noqa: BLE001 - the JVM may already be gone (stopped with its process group)
            pass
        store.mark_stopped()
    log.info("%s job stopped", name)
    return 0


def _driver_alive(spark: SparkSession) -> bool:
    """Whether the driver JVM answers and its SparkContext still runs (an uncaught error
    in a task thread stops the context and exits the JVM)."""
    try:
        return not spark.sparkContext._jsc.sc().isStopped()
    except Exception:  # noqa: BLE001 - py4j's error for a gateway that is gone
        return False


def _run_until_failure(spark: SparkSession, start_queries: StartQueries, stopping: threading.Event,
                       started: Callable[[], None]) -> str | None:
    """Start the queries and watch them; the first failure's reason, or None on a stop."""
    queries: list[StreamingQuery] = []
    try:
        queries = start_queries(spark, stopping)
        started()
        while not stopping.is_set():
            # A short wait in Python, not one long JVM call, so SIGTERM is handled at once.
            spark.streams.awaitAnyTermination(1)
            for query in queries:
                if not query.isActive:
                    error = query.exception()
                    return f"query {query.name} {'failed: ' + _first_line(error.desc) if error else 'stopped'}"
        return None
    except Exception as exc:  # noqa: BLE001 - whatever failed is reported, then retried
        return _first_line(exc)
    finally:
        try:
            for query in queries:
                query.stop()
            spark.streams.resetTerminated()
        except Exception:  # noqa: BLE001 - already failed or stopped, or the JVM is gone
            pass
