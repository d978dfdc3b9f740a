"""What every fraudlake DAG shares: tasks that run the project's own `fraudlake` CLI.

Airflow runs in a virtualenv of its own (its pins conflict with fraudlake's), so the
DAGs import nothing from fraudlake: each task runs a `fraudlake` subcommand from the
project's virtualenv, which reads its settings (connections, thresholds, secrets)
from the environment and `.env` like every other entry point. A user runs the same
commands without Airflow. `scripts/airflow.sh` sets FRAUDLAKE_BIN and FRAUDLAKE_HOME.
"""

from __future__ import annotations

import os
import shlex
from datetime import datetime, timedelta
from pathlib import Path

from airflow import DAG
from airflow.operators.bash import BashOperator

FRAUDLAKE_HOME = Path(os.environ.get("FRAUDLAKE_HOME", Path(__file__).resolve().parents[2]))
FRAUDLAKE_BIN = os.environ.get("FRAUDLAKE_BIN", str(FRAUDLAKE_HOME / ".venv" / "bin" / "fraudlake"))

# A fixed past start and no catch-up: each DAG runs from now on, never backfills.
START = datetime(2026, 1, 1)

DEFAULT_ARGS = {
    "owner": "fraudlake",
    "retries": 1,
    "retry_delay": timedelta(minutes=2),
    "execution_timeout": timedelta(minutes=30),
}


def fraudlake(task_id: str, arguments: str, **kwargs) -> BashOperator:
    """A task running `fraudlake <arguments>` (Jinja-templated) in the project directory;
    its exit status is the task's, its output the task's log."""
    return BashOperator(task_id=task_id, bash_command=f"{shlex.quote(FRAUDLAKE_BIN)} {arguments}",
                        cwd=str(FRAUDLAKE_HOME), **kwargs)


def fraudlake_dag(dag_id: str, *, description: str, schedule, timeout: timedelta, tags: list[str],
                  default_args: dict | None = None, **kwargs) -> DAG:
    """A fraudlake DAG: from now on (no catch-up), one run at a time, DEFAULT_ARGS unless given."""
    return DAG(dag_id=dag_id, description=description, schedule=schedule, start_date=START, catchup=False,
               max_active_runs=1, default_args=default_args or DEFAULT_ARGS, dagrun_timeout=timeout,
               tags=["fraudlake", *tags], **kwargs)
