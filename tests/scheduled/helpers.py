"""Running Airflow as `make airflow` installs it: scripts/airflow.sh, in the test stack's environment."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass

from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "airflow.sh"
FRAUDLAKE = REPO_ROOT / ".venv" / "bin" / "fraudlake"
DAG_IDS = {"fraudlake_lakehouse_upkeep", "fraudlake_data_quality", "fraudlake_retrain"}


@dataclass(frozen=True)
class DagRun:
    returncode: int
    output: str
    seconds: float

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0 and "state=success" in self.output

    def task_output(self) -> str:
        """What the tasks' commands printed (Airflow's own log lines left out), for assertion messages."""
        # Each line is logged twice, once per handler; the "[YYYY-MM-DD HH:…" copy is kept.
        return "\n".join(line.split(" INFO - ", 1)[1] for line in self.output.splitlines()
                         if "{subprocess.py:106}" in line and line[11:12] == " ")

    def task_states(self) -> dict[str, str]:
        """task_id -> SUCCESS / FAILED, from the run's log."""
        states = {}
        for line in self.output.splitlines():
            if "Marking task as" in line and "task_id=" in line:
                state = line.split("Marking task as ")[1].split(".")[0]
                states[line.split("task_id=")[1].split(",")[0]] = state
        return states


def airflow_script(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], env={**os.environ, **(env or {})}, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=timeout)


def dags_test(dag_id: str, conf: dict | None = None, env: dict[str, str] | None = None, timeout: float = 900) -> DagRun:
    """`airflow dags test` of one DAG: its tasks run in this process tree, against the test stack."""
    started = time.monotonic()
    args = ["run", "dags", "test", dag_id, *(["--conf", json.dumps(conf)] if conf else [])]
    done = airflow_script(*args, env=env, timeout=timeout)
    run = DagRun(done.returncode, done.stdout + done.stderr, time.monotonic() - started)
    print(f"airflow dags test {dag_id}: {run.seconds:.1f} s, {run.task_states()}")
    return run


def fraudlake(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(FRAUDLAKE), *args], env={**os.environ, **(env or {})}, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=600)
