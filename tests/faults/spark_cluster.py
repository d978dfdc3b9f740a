"""A Spark standalone master and worker from the pyspark distribution's own
`spark-class`, as a user who outgrows `local[*]` starts them (README: "Running the
jobs on a Spark cluster"). Each job takes SPARK_CORES_PER_JOB cores
(spark.deploy.defaultCores), so both run at once on one worker."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pyspark

from fraudlake import settings as cfg
from fraudlake.stack.process import Daemon, port_is_open, wait_until

SPARK_HOME = Path(pyspark.__file__).parent
SPARK_CLASS = SPARK_HOME / "bin" / "spark-class"


class StandaloneCluster:
    def __init__(self, port: int, ui_port: int, worker_ui_port: int):
        paths = cfg.get_path_settings()
        self.port, self.ui_port, self.worker_ui_port = port, ui_port, worker_ui_port
        self.run_dir = paths.fraudlake_run_dir.resolve()
        self.master = Daemon("spark-master", self.run_dir, paths.logs_dir.resolve())
        self.worker = Daemon("spark-worker", self.run_dir, paths.logs_dir.resolve())
        self.cluster = cfg.get_spark_cluster_settings()

    @property
    def work_dir(self) -> Path:
        return self.run_dir / "spark-work"

    @property
    def url(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        return {"SPARK_HOME": str(SPARK_HOME), "SPARK_LOG_DIR": str(self.run_dir / "spark-logs"),
                "SPARK_WORKER_DIR": str(self.work_dir),
                # Executors' scratch and jar fetch cache default to /tmp/spark-*, which a worker
                # stopped before its application ends never removes (1.1 GB per run).
                "SPARK_LOCAL_DIRS": str(self.work_dir / "local"),
                "SPARK_MASTER_OPTS": f"-Dspark.deploy.defaultCores={self.cluster.spark_cores_per_job}"}

    def start_master(self) -> None:
        self.master.spawn([str(SPARK_CLASS), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                           "--port", str(self.port), "--webui-port", str(self.ui_port)], env=self._env())
        wait_until(lambda: port_is_open(self.port), timeout=60, what="Spark master", log=self.master.log_file)

    def start_worker(self) -> None:
        self.worker.spawn([str(SPARK_CLASS), "org.apache.spark.deploy.worker.Worker", self.url,
                           "--host", "127.0.0.1", "--webui-port", str(self.worker_ui_port),
                           "--cores", str(self.cluster.spark_worker_cores),
                           "--memory", self.cluster.spark_worker_memory], env=self._env())
        wait_until(lambda: self.alive_workers() > 0, timeout=60, what="Spark worker", log=self.worker.log_file)

    def alive_workers(self) -> int:
        try:
            state = httpx.get(f"http://127.0.0.1:{self.ui_port}/json/", timeout=2).json()
        except (httpx.HTTPError, ValueError):
            return 0
        return sum(worker["state"] == "ALIVE" for worker in state.get("workers", []))

    def stop(self) -> None:
        self.worker.terminate()
        self.master.terminate()
        # Each executor the worker started holds its own copy of the jars (550 MB), and its
        # fetch cache (SPARK_LOCAL_DIRS) another.
        shutil.rmtree(self.work_dir, ignore_errors=True)
