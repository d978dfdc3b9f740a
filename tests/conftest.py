"""Test-wide setup: an isolated stack on its own ports, started by the tests themselves.

The tests never touch a stack a developer runs with `make up`: they get their own
run directory (`.run/test`), their own `.env` with generated secrets, and ports
offset by 10000. The session fixtures start only what a test needs (PostgreSQL
alone is seconds; the full stack under a minute with cached artifacts) and stop
what they started at the end, unless FRAUDLAKE_TEST_KEEP_STACK=1.

A session that finds the test stack stopped starts it from empty data, as CI does:
a test database that earlier runs (or a benchmark) filled would leave Debezium
a backlog of WAL to stream before any test's change arrives.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import psycopg
import pytest

from fraudlake.stack.isolated import isolated_stack_env

REPO_ROOT = Path(__file__).resolve().parents[1]
# Two test sessions on one machine (say, two worktrees) each set their own offset and
# run directory so their stacks do not meet.
PORT_OFFSET = int(os.environ.get("FRAUDLAKE_TEST_PORT_OFFSET", "10000"))
TEST_RUN_DIR = Path(os.environ.get("FRAUDLAKE_TEST_RUN_DIR", REPO_ROOT / ".run" / "test"))
SAMPLE_CSV = REPO_ROOT / "data" / "fraudTrain_sample.csv"  # 5,039 real Kaggle rows, 22 fraud


TEST_ENV = {
    **isolated_stack_env(TEST_RUN_DIR, PORT_OFFSET),
    "SPARK_MASTER": "local[2]",
    "SPARK_DRIVER_MEMORY": "1g",
    "DASHBOARD_CSV_DIR": str(REPO_ROOT / "data"),
    # Shorter waits than a deployment needs, so the job tests see results sooner.
    "LAKEHOUSE_TRIGGER_SECONDS": "1",
    "SILVER_TRIGGER_SECONDS": "2",
    # Silver's auto compaction after every three MERGEs of a running job, so the job
    # tests (kill -9 and cleared checkpoints included) run through it, not only a
    # long-running deployment.
    "LAKEHOUSE_SILVER_COMPACT_MIN_FILES": "3",
    "JOB_RESTART_SECONDS": "3",
    "PREDICTION_EXPORT_SECONDS": "2",
    "PREDICTION_RETRY_MAX_SECONDS": "2",
    "DASHBOARD_REFRESH_SECONDS": "1",
    # The tests start, kill and restart components themselves (the fault suite measures
    # recovery by `make up`); tests/stack/test_supervisor.py runs a supervisor of its own.
    "STACK_SUPERVISE": "false",
}
os.environ.update(TEST_ENV)

from fraudlake import settings as cfg  # noqa: E402  (after the environment is set)
from fraudlake.envfile import ensure_env_file  # noqa: E402

ensure_env_file(TEST_RUN_DIR / ".env", REPO_ROOT / ".env.example")
cfg.reset_settings()

_started: set[str] = set()

# What the data path's tests need running; the streaming jobs are started by their
# own tests, which also kill and restart them.
SERVICES = {"postgres", "kafka", "connect", "minio", "api"}


def _start(names: set[str]) -> None:
    from fraudlake import stack
    from fraudlake.stack.artifacts import fetch_all

    missing = names - _started
    if not missing:
        return
    if not _started and all(state["pid"] is None for state in stack.status().values()):
        for data in ("postgres", "kafka", "connect", "minio", "logs"):  # .env is kept
            shutil.rmtree(TEST_RUN_DIR / data, ignore_errors=True)
    fetch_all(cfg.get_path_settings())
    stack.up(missing)
    _started.update(missing)


@pytest.fixture(scope="session", autouse=True)
def _stop_started_stack():
    yield
    if _started and not os.environ.get("FRAUDLAKE_TEST_KEEP_STACK"):
        from fraudlake import stack

        stack.down(set(_started))


@pytest.fixture(scope="session")
def postgres_service() -> cfg.PostgresSettings:
    """A running PostgreSQL with the fraudlake schema applied."""
    _start({"postgres"})
    return cfg.get_postgres_settings()


@pytest.fixture(scope="session")
def api_service() -> cfg.ApiSettings:
    """The stack's prediction API, with the PostgreSQL it reads history from."""
    _start({"postgres", "api"})
    return cfg.get_api_settings()


@pytest.fixture(scope="session")
def full_stack() -> None:
    """Every component: PostgreSQL, Kafka, Kafka Connect with the Debezium connector
    RUNNING, MinIO and the prediction API."""
    _start(SERVICES)


@pytest.fixture(scope="session")
def dashboard_service() -> str:
    """PostgreSQL and the dashboard, started as `make up` starts them; the page's URL."""
    _start({"postgres", "dashboard"})
    settings = cfg.get_dashboard_settings()
    return f"http://{settings.dashboard_host}:{settings.dashboard_port}"


@pytest.fixture(scope="session")
def spark():
    """One local SparkSession for the tests in this process (the jobs run their own)."""
    from fraudlake.spark import build_spark_session
    from fraudlake.stack.artifacts import fetch_all

    fetch_all(cfg.get_path_settings())
    session = build_spark_session("fraudlake-tests", {"spark.ui.enabled": "false"})
    yield session
    session.stop()


@pytest.fixture
def db(postgres_service) -> psycopg.Connection:
    """An autocommit connection as the application role."""
    with psycopg.connect(postgres_service.conninfo(), autocommit=True) as conn:
        yield conn
