"""Proof under fire: kill -9 each component while a feed streams, bring it back as an
operator would, and count the whole pipeline against PostgreSQL's `transactions`.

Both streaming jobs run as `make up` runs them, alerts go to a fake Slack. Each case
records its row of the fault table (reports/faults/faults.md) before it asserts, so
the table shows what a failing case lost or repeated.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from datetime import datetime

import psutil
import pytest

from fraudlake import settings as cfg
from tests.conftest import REPO_ROOT
from tests.fakeslack import FakeSlack
from tests.faults.pipeline import (Tally, caught_up, connect, count_everything, keys_since, settle,
                                   write_report)
from tests.producer.helpers import FRAUDLAKE, producer
from tests.streaming.helpers import component, finish, job, stream

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
    os.environ["SLACK_WEBHOOK_URL"] = slack.url
    cfg.reset_settings()
    jobs = [job("lakehouse"), job("prediction")]
    for started in jobs:
        started.stop()  # a job left by an earlier run would hold another webhook
        started.start()
    yield slack
    for started in jobs:
        started.stop()
    del os.environ["SLACK_WEBHOOK_URL"]
    cfg.reset_settings()
    if TALLIES:
        print("\n" + write_report(TALLIES))


def db_now() -> datetime:
    with connect() as db:
        return db.execute("SELECT now()").fetchone()[0]


def kill_9(name: str) -> None:
    """SIGKILL to the component's process and every process under it, as a container
    runtime kills a container: no shutdown hook runs."""
    pid = component(name).pid()
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
    assert settle(lambda: len(keys_since(since)) >= feed * KILL_AT, timeout=120, interval=0.5), "the feed did not start"
    fault()
    time.sleep(DOWN_SECONDS)
    revive()
    back = time.monotonic()
    committed = keys_since(since)
    if settle(lambda: caught_up(committed, since), timeout=300):
        tally.recovery_s = time.monotonic() - back
    finish(producing, timeout=600)
    keys = keys_since(since)
    settle(lambda: count_everything(tally, keys, since, slack.messages).clean, timeout=300, interval=5)
    TALLIES.append(tally)
    assert len(keys) == feed, f"the producer committed {len(keys)} of {feed} transactions"
    return tally


def assert_clean(tally: Tally) -> None:
    assert tally.recovery_s is not None, "the pipeline did not catch up within 300 s of the component's return"
    assert tally.clean, tally
    assert not tally.notes, tally.notes


@pytest.mark.parametrize("name", ["postgres", "kafka", "connect", "minio", "api"])
def test_a_service_killed_mid_stream_loses_nothing_and_repeats_nothing(pipeline, name):
    assert_clean(run_case(f"kill -9 {name}", pipeline, lambda: kill_9(name)))


@pytest.mark.parametrize("name", ["lakehouse", "prediction"])
def test_a_job_killed_mid_stream_restarted_by_the_script_loses_and_repeats_nothing(pipeline, name):
    tally = run_case(f"kill -9 {name} job", pipeline, lambda: kill_9(name),
                     revive=lambda: restart_script("--job", name))
    assert_clean(tally)


def test_the_restart_script_clearing_checkpoints_mid_stream_repeats_nothing(pipeline):
    tally = run_case("restart --clear-checkpoints (both jobs)", pipeline, lambda: None,
                     revive=lambda: restart_script("--job", "all", "--clear-checkpoints"))
    assert_clean(tally)
