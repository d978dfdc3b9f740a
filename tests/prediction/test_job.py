"""The prediction job as `make up` runs it, against the real stack and a fake Slack:
every new transaction scored once, fraud alerted once, through crashes, an API
outage, Slack's rate limit and the restart script."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from datetime import datetime, timezone

import httpx
import pytest

from fraudlake import settings as cfg
from fraudlake.prediction.client import encode
from fraudlake.stack.jobs import JobFailed
from tests.conftest import REPO_ROOT
from tests.fakeslack import FakeSlack
from tests.stack.test_cdc_path import a_transaction, insert
from tests.streaming.helpers import (alert_statuses, alerted, component, crash_mid_stream, db_now, finish,
                                     jobs_alerting, keys_since, predictions, slack_counts, stream, wait_for,
                                     wait_scored)

pytestmark = [pytest.mark.stack, pytest.mark.spark]

RESTART_SCRIPT = REPO_ROOT / "scripts" / "restart-streaming-services.sh"


@pytest.fixture(scope="module")
def slack():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture(scope="module")
def prediction(full_stack, slack):
    with jobs_alerting(slack.url, "prediction") as (component,):
        yield component


def wait_alerted(db, slack, keys, timeout: float = 120) -> list[str]:
    """Wait until every alert is at Slack and the ledger no longer holds it pending: the
    sender's mark of a message as sent commits only after Slack's answer, so the two lag by a moment."""
    expected = alerted(db, keys)
    wait_for(lambda: (all(slack_counts(slack.messages, expected).values())
                      and "pending" not in alert_statuses(db, expected)),
             timeout=timeout, what="every alert at Slack and out of the ledger's pending")
    return expected


def assert_exactly_once(db, slack, keys) -> None:
    assert len(predictions(db, keys)) == len(keys)
    expected = wait_alerted(db, slack, keys)
    counts = slack_counts(slack.messages, keys)
    assert {key for key, n in counts.items() if n} == set(expected)
    assert set(counts[key] for key in expected) <= {1}, "an alert reached Slack twice"
    assert alert_statuses(db, keys) == ({"sent": len(expected)} if expected else {})


def test_a_new_transaction_is_scored_as_the_api_scores_it_and_fraud_reaches_slack(prediction, slack, db):
    since = db_now(db)
    finish(stream(1000, tps=500))
    keys = keys_since(db, since)
    wait_scored(db, keys, timeout=120)
    expected = wait_alerted(db, slack, keys)
    assert expected, "the generated feed holds fraud the model flags"

    scored = predictions(db, keys)
    cursor = db.execute("SELECT * FROM transactions WHERE trans_num = %s", (expected[0],))
    transaction = dict(zip([column.name for column in cursor.description], cursor.fetchone()))
    (answer,) = httpx.post(f"{cfg.get_api_settings().api_url}/predict/raw/batch", content=encode([transaction]),
                           headers={"content-type": "application/json", **cfg.get_api_settings().auth_headers()}).json()
    assert scored[expected[0]][0] == pytest.approx(answer["fraud_probability"], abs=1e-9)
    assert scored[expected[0]][2] == answer["risk_level"]

    # A burst of frauds is folded into digests, which name level, amount, merchant and
    # the masked card (tests/alerts checks the single alert's full blocks).
    text = json.dumps([m.payload for m in slack.messages if expected[0] in json.dumps(m.payload)])
    card = str(transaction["cc_num"])
    assert answer["risk_level"] in text and card[-4:] in text and card not in text
    assert_exactly_once(db, slack, keys)


def test_a_row_the_api_refuses_is_quarantined_with_its_reason_and_the_rest_scored(prediction, slack, db):
    keys = [f"refused-{uuid.uuid4().hex}" for _ in range(20)]
    with db.transaction():  # one commit, so the rows travel in one batch
        for i, key in enumerate(keys):
            insert(db, a_transaction(key) | {"lat": 95.0 if i == 7 else 36.0788})
    wait_for(lambda: len(predictions(db, keys)) == 19, timeout=120, what="19 predictions")
    (reason,) = db.execute("SELECT reason FROM fraud_predictions_quarantine WHERE trans_num = %s",
                           (keys[7],)).fetchone()
    assert reason.startswith("lat: ") and "90" in reason
    assert keys[7] not in predictions(db, keys)


def test_kill_9_while_10000_rows_stream_scores_each_once_and_alerts_each_fraud_once(prediction, slack, db):
    keys = crash_mid_stream(db, prediction, 10_000, tps=1000, after=3000)
    wait_scored(db, keys)
    assert_exactly_once(db, slack, keys)


def test_api_down_for_30_s_mid_stream_loses_nothing_and_catches_up(prediction, slack, db):
    api = component("api")
    since = db_now(db)
    feed = stream(3000, tps=200)
    wait_for(lambda: len(keys_since(db, since)) > 300, timeout=60, what="the feed to be under way")
    api.stop()
    stopped = time.monotonic()
    try:
        time.sleep(30)
        progress = len(predictions(db, keys_since(db, since)))
    finally:
        api.start()
    finish(feed)
    keys = keys_since(db, since)
    assert progress < len(keys), "nothing waited for the API"
    wait_scored(db, keys)
    assert time.monotonic() - stopped > 30
    assert_exactly_once(db, slack, keys)


def test_slack_rate_limit_delays_alerts_but_sends_each_once(prediction, slack, db):
    slack.rate_limit(times=3, retry_after=2)
    started = time.monotonic()
    since = db_now(db)
    finish(stream(1000, tps=500))
    keys = keys_since(db, since)
    wait_scored(db, keys)
    expected = wait_alerted(db, slack, keys)
    assert expected
    first = min(m.monotonic for m in slack.messages if any(k in json.dumps(m.payload) for k in expected))
    assert first - started >= 2
    assert slack.statuses.count(429) >= 3
    assert_exactly_once(db, slack, keys)


def restart(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(RESTART_SCRIPT), "--job", "prediction", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=400)


@pytest.mark.parametrize("flags", [(), ("--clear-checkpoints",)], ids=["keep-checkpoints", "clear-checkpoints"])
def test_the_restart_script_repeats_no_prediction_and_no_alert(prediction, slack, db, flags):
    since = db_now(db)
    finish(stream(300, tps=300))
    keys = keys_since(db, since)
    wait_scored(db, keys)
    wait_alerted(db, slack, keys)
    scored_before = predictions(db, keys)
    messages_before = len(slack.messages)

    result = restart(*flags)
    assert result.returncode == 0, result.stderr
    assert "every query reporting progress" in result.stdout
    if flags:
        assert "cleared s3a://" in result.stdout

    later = db_now(db)
    finish(stream(100, tps=100))
    new_keys = keys_since(db, later)
    wait_scored(db, new_keys)
    assert predictions(db, keys) == scored_before
    assert_exactly_once(db, slack, keys)
    assert_exactly_once(db, slack, new_keys)
    assert len(slack.messages) - messages_before == len(alerted(db, new_keys))


def test_the_restart_script_fails_with_the_reason_when_the_job_cannot_start(prediction, db):
    minio = component("minio")
    minio.stop()
    try:
        result = restart("--timeout", "120")
    finally:
        minio.start()
    assert result.returncode != 0
    assert "error: prediction job could not start:" in result.stderr, result.stderr
    assert "running" not in result.stdout

    def recovered() -> bool:  # by itself, once MinIO is back
        try:
            return prediction.healthy()
        except JobFailed:
            return False

    wait_for(recovered, timeout=120, what="the job running again after MinIO came back")


class GrowingStore:
    """fraud_predictions under a steady feed: every read finds one row newer than the last."""

    def __init__(self, backlog: int, feed: int):
        self.rows, self.feed = backlog, feed

    def predictions_after(self, last_id: int, limit: int) -> list[tuple]:
        if self.feed:
            self.feed -= 1
            self.rows += 1
        now = datetime.now(timezone.utc)
        return [(i, f"t{i}", 0.1, False, "LOW", "v1", now, i, now, "[]")
                for i in range(last_id + 1, min(self.rows, last_id + limit) + 1)]


def test_an_export_round_appends_a_backlog_in_whole_chunks_then_stops_though_rows_keep_coming(spark, tmp_path):
    from deltalake import DeltaTable

    from fraudlake.prediction.job import export_round

    path = str(tmp_path / "fraud_predictions")
    store = GrowingStore(backlog=5, feed=50)
    # Each read finds one more row: whole chunks of 2 drain the backlog by one a read,
    # until the sixth finds a single row and the round ends (before: until the feed did).
    assert export_round(spark, store, path, 0, chunk_rows=2) == 11
    assert DeltaTable(path).version() == 5  # six commits
    assert export_round(spark, store, path, 11, chunk_rows=2) == 12
    assert sorted(DeltaTable(path).to_pyarrow_table()["id"].to_pylist()) == list(range(1, 13))
