"""Proof under fire: kill -9 each component while a feed streams, bring it back as an
operator would, and count the whole pipeline against PostgreSQL's `transactions`.

Both streaming jobs run as `make up` runs them, alerts go to a fake Slack. Each case
records its row of the fault table (reports/faults/faults.md) before it asserts, so
the table shows what a failing case lost or repeated.
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from collections.abc import Callable
from datetime import datetime

import pandas as pd
import psutil
import pytest

from fraudlake import settings as cfg
from fraudlake.producer.generator import generate, write_kaggle_csv
from tests.conftest import PORT_OFFSET, REPO_ROOT
from tests.fakeslack import FakeSlack
from tests.faults.pipeline import (Tally, caught_up, connect, count_everything, keys_since, settle,
                                   write_report)
from tests.faults.spark_cluster import StandaloneCluster
from tests.producer.helpers import FRAUDLAKE, producer
from tests.streaming.helpers import component, finish, job, jobs_alerting, restarts, stream, supervising

pytestmark = [pytest.mark.stack, pytest.mark.spark, pytest.mark.faults]

FEED = 20_000  # transactions per case
TPS = 1_000
KILL_AT = 0.3  # share of the feed committed when the component is killed
DOWN_SECONDS = 5  # how long the component stays dead
RESTART_SCRIPT = REPO_ROOT / "scripts" / "restart-streaming-services.sh"
TALLIES: list[Tally] = []


@pytest.fixture(scope="module")
def slack():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture(scope="module")
def pipeline(full_stack, slack):
    """Both jobs running, alerting the fake Slack; the fault table written at the end."""
    with jobs_alerting(slack.url, "lakehouse", "prediction"):
        yield slack
    if TALLIES:
        print("\n" + write_report(TALLIES))


def db_now() -> datetime:
    with connect() as db:
        return db.execute("SELECT now()").fetchone()[0]


def kill_9(name: str) -> None:
    """SIGKILL to the component's process and every process under it, as a container
    runtime kills a container: no shutdown hook runs."""
    kill_tree(component(name).pid(), name)


def kill_9_daemon(daemon) -> None:
    kill_tree(daemon.pid(), daemon.name)


def kill_tree(pid: int | None, name: str) -> None:
    assert pid is not None, f"{name} is not running"
    victims = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    for victim in victims:
        victim.kill()
    psutil.wait_procs(victims, timeout=30)


def make_up() -> None:
    """What an operator runs after a crash: `make up` (its `fraudlake up`)."""
    result = subprocess.run([str(FRAUDLAKE), "up"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def restart_script(*args: str) -> None:
    result = subprocess.run([str(RESTART_SCRIPT), *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def run_case(case: str, slack: FakeSlack, fault: Callable[[], None], *, revive: Callable[[], None] = make_up,
             feed: int = FEED) -> Tally:
    """Stream `feed` transactions; at KILL_AT of them run `fault`, wait DOWN_SECONDS, then
    `revive`; let the feed finish and the pipeline settle; count everything."""
    tally = Tally(case)
    since = db_now()
    producing = stream(feed, TPS)
    try:
        assert settle(lambda: len(keys_since(since)) >= feed * KILL_AT, timeout=120, interval=0.5), "no feed"
        fault()
        time.sleep(DOWN_SECONDS)
        revive()
        back = time.monotonic()
        committed = keys_since(since)
        if settle(lambda: caught_up(committed, since), timeout=300):
            tally.recovery_s = time.monotonic() - back
        finish(producing, timeout=600)
    finally:
        if producing.poll() is None:  # a failed case's feed must not run on into the next case
            producing.kill()
    keys = keys_since(since)
    settle(lambda: count_everything(tally, keys, since, slack.messages).clean, timeout=300, interval=5)
    TALLIES.append(tally)
    assert len(keys) == feed, f"the producer committed {len(keys)} of {feed} transactions"
    return tally


def assert_clean(tally: Tally) -> None:
    assert tally.recovery_s is not None, "the pipeline did not catch up within 300 s of the component's return"
    assert tally.clean, tally
    assert not tally.notes, tally.notes


@pytest.mark.parametrize("name", ["postgres", "kafka", "minio", "api"])
def test_a_service_killed_mid_stream_loses_nothing_and_repeats_nothing(pipeline, name):
    assert_clean(run_case(f"kill -9 {name}", pipeline, lambda: kill_9(name)))


def test_connect_killed_mid_stream_repeats_no_event_and_releases_the_slots_wal(pipeline):
    """Without exactly-once source delivery, a killed worker sends again every change
    after its last offset flush (2,229 of 10,000 events, measured)."""
    tally = run_case("kill -9 connect", pipeline, lambda: kill_9("connect"))
    with connect() as db:
        written = db.execute("SELECT pg_current_wal_lsn()").fetchone()[0]

    def released() -> bool:  # Debezium confirmed everything written before the check
        with connect() as db:
            return db.execute("SELECT confirmed_flush_lsn >= %s::pg_lsn FROM pg_replication_slots "
                              "WHERE slot_name = %s", (written, cfg.get_postgres_settings().postgres_slot)).fetchone()[0]

    if not settle(released, timeout=120):
        tally.notes.append("the replication slot still holds WAL written before the stream ended")
    assert_clean(tally)


def test_a_job_killed_mid_stream_is_restarted_by_the_supervisor_alone_and_nothing_is_lost(pipeline):
    """No operator: the supervisor `make up` starts brings the prediction job back, and
    counts it. (The API's restart is tests/stack/test_supervisor.py's.)"""
    name = "prediction"
    with supervising(name):
        before = restarts(name)
        tally = run_case(f"kill -9 {name}, restarted by the supervisor", pipeline, lambda: kill_9(name),
                         revive=lambda: None)
        assert restarts(name) == before + 1
    assert_clean(tally)


@pytest.mark.parametrize("name", ["lakehouse", "prediction"])
def test_a_job_killed_mid_stream_restarted_by_the_script_loses_and_repeats_nothing(pipeline, name):
    tally = run_case(f"kill -9 {name} job", pipeline, lambda: kill_9(name),
                     revive=lambda: restart_script("--job", name))
    assert_clean(tally)


def test_postgres_killed_during_a_bulk_load_then_rerun_loads_each_row_once(pipeline, tmp_path):
    rows = 60_000
    path = tmp_path / "bulk.csv"
    write_kaggle_csv(generate(rows, seed=random.randrange(1, 2**31)), path)
    keys = pd.read_csv(path, usecols=["trans_num"])["trans_num"].tolist()
    since = db_now()
    small_chunks = {"PRODUCER_COPY_BATCH_ROWS": "2000", "PRODUCER_LOAD_CONNECTIONS": "1"}
    load = producer("load", "--csv", str(path), "--no-progress", env=small_chunks)

    def loaded() -> int:
        with connect() as db:
            return db.execute("SELECT count(*) FROM transactions WHERE trans_num = ANY(%s)", (keys,)).fetchone()[0]

    assert settle(lambda: loaded() >= rows // 10, timeout=120, interval=0.05)
    kill_9("postgres")
    load.communicate(timeout=60)
    assert load.returncode != 0, "the load finished before PostgreSQL was killed"
    make_up()
    before_rerun = loaded()
    assert 0 < before_rerun < rows
    rerun = producer("load", "--csv", str(path), "--no-progress", env=small_chunks)
    stdout, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr
    assert loaded() == rows

    tally = Tally("kill -9 postgres during `producer load`, then rerun")
    settle(lambda: count_everything(tally, keys, since, pipeline.messages).clean, timeout=300, interval=5)
    TALLIES.append(tally)
    tally.notes.append(f"{before_rerun:,} rows committed before the kill; the rerun skipped them")
    assert tally.clean, tally


def test_both_jobs_on_a_standalone_cluster_survive_the_worker_killed_mid_stream(pipeline):
    cluster = StandaloneCluster(7077 + PORT_OFFSET, 8080 + PORT_OFFSET, 8081 + PORT_OFFSET)
    jobs = [job("lakehouse"), job("prediction")]
    local_master = os.environ["SPARK_MASTER"]
    try:
        cluster.start_master()
        cluster.start_worker()
        os.environ["SPARK_MASTER"] = cluster.url
        cfg.reset_settings()
        for moved in jobs:
            moved.stop()
            moved.start()
        tally = run_case("kill -9 Spark worker (standalone cluster)", pipeline, lambda: kill_9_daemon(cluster.worker),
                         revive=cluster.start_worker)
    finally:
        os.environ["SPARK_MASTER"] = local_master
        cfg.reset_settings()
        for moved in jobs:
            moved.stop()
        cluster.stop()
        for moved in jobs:
            moved.start()
    assert_clean(tally)


def test_the_restart_script_clearing_checkpoints_mid_stream_repeats_nothing(pipeline):
    tally = run_case("restart --clear-checkpoints (both jobs)", pipeline, lambda: None,
                     revive=lambda: restart_script("--job", "all", "--clear-checkpoints"))
    assert_clean(tally)
