"""Every DAG imports in Airflow's own virtualenv, has no cycle, and each task an owner,
retries and a timeout: the DAG-integrity test Airflow users run."""

from __future__ import annotations

import json
from pathlib import Path

from tests.scheduled.helpers import DAG_IDS, airflow_script


def test_every_dag_imports_without_cycles_and_with_owner_retries_and_timeout(airflow_installed):
    done = airflow_script("python", str(Path(__file__).with_name("dag_integrity.py")))
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("DAG-INTEGRITY ")]
    report = json.loads(line.removeprefix("DAG-INTEGRITY "))

    assert report["import_errors"] == {}
    assert set(report["dags"]) == DAG_IDS
    for dag_id, dag in report["dags"].items():
        assert dag["cycle"] is None, dag_id
        assert dag["catchup"] is False, dag_id
        assert dag["tasks"], dag_id
        for task_id, task in dag["tasks"].items():
            where = f"{dag_id}.{task_id}"
            assert task["owner"] == "fraudlake", where
            assert task["retries"] is not None and task["retries"] >= 0, where
            assert task["execution_timeout"] and task["execution_timeout"] > 0, where
    assert report["dags"]["fraudlake_data_quality"]["schedule"] == "0:05:00"
    assert set(report["dags"]["fraudlake_data_quality"]["tasks"]) == {
        "silver_row_count", "silver_values", "predictions", "job_lag", "replication_slot"}
