"""Run by the Airflow virtualenv's python (fraudlake is not installed there): loads the
DAG folder as the scheduler does and prints what the integrity test asserts, as JSON."""

import json

from airflow.models import DagBag
from airflow.utils.dag_cycle_tester import check_cycle

bag = DagBag(include_examples=False)
report = {"import_errors": {path: str(error) for path, error in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in bag.dags.items():
    try:
        check_cycle(dag)
        cycle = None
    except Exception as exc:  # AirflowDagCycleException
        cycle = str(exc)
    report["dags"][dag_id] = {
        "cycle": cycle,
        "schedule": str(dag.schedule_interval),
        "catchup": dag.catchup,
        "tasks": {task.task_id: {"owner": task.owner, "retries": task.retries,
                                 "execution_timeout": task.execution_timeout.total_seconds() if task.execution_timeout else None}
                  for task in dag.tasks},
    }
print("DAG-INTEGRITY " + json.dumps(report))
