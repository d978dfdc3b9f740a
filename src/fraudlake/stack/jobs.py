"""The two Spark streaming jobs as stack processes.

A job is healthy once every one of its queries has reported, from this very
process, since it was started: progress rows (fraudlake.streaming.progress) carry
the driver's pid, so a row left by an earlier run never counts.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from datetime import UTC, datetime

from fraudlake.settings import PathSettings, PostgresSettings, StreamingSettings
from fraudlake.stack.process import DaemonComponent, StackError, pid_alive, wait_until
from fraudlake.streaming.checkpoints import JOB_QUERIES


class JobFailed(StackError):
    """A job started but its queries failed (e.g. MinIO unreachable); the message says why."""


class StreamingJob(DaemonComponent):
    """One job: `python -m <module>` (a SparkSession with local or cluster master)."""

    module: str
    ui_port_setting: str
    # The first start resolves the Delta tables and the Kafka offsets: JVM start-up,
    # then a batch; 2 cores shared with the rest of the stack.
    start_timeout = 240.0
    stop_timeout = 60.0

    def __init__(self, paths: PathSettings, settings: StreamingSettings, postgres: PostgresSettings):
        super().__init__(paths, settings)
        self.postgres = postgres

    @property
    def queries(self) -> tuple[str, ...]:
        return tuple(JOB_QUERIES[self.name])

    def ports(self) -> list[tuple[str, int]]:
        return [(self.ui_port_setting, getattr(self.settings, self.ui_port_setting.lower()))]

    def started_at(self) -> datetime | None:
        try:
            return datetime.fromtimestamp(self.daemon.pid_file.stat().st_mtime, UTC)
        except OSError:
            return None

    def progress(self, include_job: bool = False) -> list:
        """The job's rows of `streaming_progress`: its queries, and with `include_job`
        the runner's own row (set when the job failed and waits to retry)."""
        from fraudlake.streaming.progress import read_progress

        wanted = set(self.queries) | ({"job"} if include_job else set())
        return [q for q in read_progress(self.postgres, self.name) if q.query in wanted]

    def healthy(self) -> bool:
        pid, since = self.pid(), self.started_at()
        if pid is None or since is None:
            return False
        mine = [q for q in self.progress(include_job=True) if q.pid == pid and q.updated_at >= since]
        for query in mine:
            if query.query == "job" and query.state == "failed":
                # The runner retries, but whoever waits for a start wants the reason now.
                raise JobFailed(f"{self.label} could not start: {query.error}")
        fresh = {q.query for q in mine if q.state == "running" and q.batch_id is not None}
        return fresh >= set(self.queries)

    def start(self) -> None:
        if self.pid() is None:
            # The Spark UI moves to the next free port by itself, so its port is not claimed.
            self.daemon.spawn([sys.executable, "-m", self.module])
            self.wait_healthy(timeout=self.start_timeout)
        else:
            # Running already (`make up` after another component crashed): a query that
            # failed while that component was away is restarted by the job itself within
            # JOB_RESTART_SECONDS, so that is waited for rather than reported.
            self.wait_healthy(timeout=self.start_timeout, fail_fast=False)

    def wait_healthy(self, timeout: float, fail_fast: bool = True) -> None:
        def healthy_or_failed() -> bool:
            try:
                return self.healthy()
            except JobFailed as failed:
                if not fail_fast:
                    return False
                failure.append(failed)
                return True

        failure: list[JobFailed] = []
        wait_until(healthy_or_failed, timeout=timeout, what=self.label, log=self.daemon.log_file,
                   alive=lambda: self.pid() is not None, interval=1.0)
        if failure:
            raise failure[0]

    def stop(self) -> None:
        """SIGTERM to the driver alone, so it stops its queries before its JVM goes;
        the whole process group is killed only if it does not exit in time."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + self.stop_timeout
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
        self.daemon.terminate(timeout=5)

    def status(self) -> dict:
        result = super().status()
        try:
            result["queries"] = self.progress()
        except Exception:  # noqa: BLE001 - status reports, it does not fail
            result["queries"] = []
        return result


class LakehouseJob(StreamingJob):
    name = "lakehouse"
    label = "lakehouse job"
    module = "fraudlake.lakehouse.job"
    ui_port_setting = "LAKEHOUSE_UI_PORT"


class PredictionJob(StreamingJob):
    name = "prediction"
    label = "prediction job"
    module = "fraudlake.prediction.job"
    ui_port_setting = "PREDICTION_UI_PORT"
