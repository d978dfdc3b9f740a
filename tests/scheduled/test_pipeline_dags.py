"""The data-quality and upkeep DAGs against the running pipeline: PostgreSQL →
Debezium → Kafka → both streaming jobs → silver and predictions, a fake Slack.

Quality: a clean state passes every check; a deleted prediction fails the
`predictions` task and reaches Slack once (not again on the next run). Upkeep:
compaction leaves fewer files and the same rows, and the lakehouse job runs again."""

from __future__ import annotations

import psycopg
import pytest

from fraudlake import settings as cfg
from fraudlake.lakehouse.reader import query
from fraudlake.lakehouse.upkeep import table_stats
from fraudlake.quality import CHECKS
from tests.fakeslack import FakeSlack
from tests.scheduled.helpers import dags_test, fraudlake
from tests.streaming.helpers import (db_now, finish, job, jobs_alerting, jobs_state, keys_since, stream, wait_for,
                                     wait_scored)

pytestmark = [pytest.mark.stack, pytest.mark.spark]

QUALITY_ALERT = ":warning: fraudlake data-quality check failed"
FEED = 300


@pytest.fixture(scope="module")
def slack():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture(scope="module")
def conn(full_stack):
    with psycopg.connect(cfg.get_postgres_settings().conninfo(), autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def fed(full_stack, slack, conn):
    """Both jobs running, FEED new transactions in silver and scored; (since, keys)."""
    with jobs_alerting(slack.url, "lakehouse", "prediction"):
        since = db_now(conn)
        finish(stream(FEED, 150))
        keys = keys_since(conn, since)
        assert len(keys) == FEED
        # The jobs resume from their checkpoints: first they work through what the tests
        # before these left in the topic (the producer's ~105,000 rows and truncates; about
        # a minute on this machine), then the feed.
        wait_scored(conn, keys, timeout=420)
        wait_for(lambda: silver_count(since) == FEED, timeout=420, what="every transaction in silver",
                 explain=lambda: f"{silver_count(since)} of {FEED} in silver\n{jobs_state('lakehouse')}")
        yield since, keys


def silver_count(since) -> int:
    return query(f"SELECT count(*) AS n FROM s WHERE created_at >= '{since.isoformat()}'",
                 s=("silver", "transactions")).column("n")[0].as_py()


def quality_alerts(slack: FakeSlack) -> list[str]:
    return [m.payload["text"] for m in slack.messages if m.payload.get("text", "").startswith(QUALITY_ALERT)]


def test_quality_passes_when_clean_then_a_deleted_prediction_fails_and_alerts_slack_once(fed, slack, conn):
    since, keys = fed
    env = {"QUALITY_GRACE_SECONDS": "0"}  # the feed is seconds old
    conf = {"since": since.isoformat()}

    clean = dags_test("fraudlake_data_quality", conf, env=env)
    assert clean.succeeded, clean.task_output()[-5000:]
    assert clean.task_states() == {name: "SUCCESS" for name in CHECKS}
    assert quality_alerts(slack) == []

    (deleted,) = conn.execute(
        "DELETE FROM fraud_predictions WHERE trans_num = (SELECT p.trans_num FROM fraud_predictions p "
        "WHERE p.trans_num = ANY(%s) AND NOT EXISTS (SELECT FROM fraud_alerts a WHERE a.trans_num = p.trans_num) "
        "LIMIT 1) RETURNING trans_num", (keys,)).fetchone()

    broken = dags_test("fraudlake_data_quality", conf, env=env)
    assert not broken.succeeded
    assert broken.task_states() == {name: "FAILED" if name == "predictions" else "SUCCESS" for name in CHECKS}
    (alert,) = quality_alerts(slack)
    assert "predictions" in alert and deleted in alert and "1 transactions" in alert

    # Still failing on the next run: reported, but not alerted again.
    again = fraudlake("quality", "check", "--only", "predictions", "--since", since.isoformat(), env=env)
    assert again.returncode == 1 and "FAILED predictions" in again.stdout
    assert len(quality_alerts(slack)) == 1
    status, alerted_at = conn.execute(
        "SELECT status, alerted_at FROM quality_alerts WHERE check_name = 'predictions'").fetchone()
    assert status == "failing" and alerted_at is not None


def test_upkeep_leaves_fewer_files_the_same_rows_and_the_job_running(fed, conn):
    lakehouse = job("lakehouse")
    assert lakehouse.pid() is not None  # running (the `fed` fixture), as `make up` leaves it
    before = {s.table: s for s in table_stats()}
    recorded = conn.execute("SELECT count(*) FROM lakehouse_table_stats").fetchone()[0]

    run = dags_test("fraudlake_lakehouse_upkeep")
    assert run.succeeded, run.task_output()[-5000:]

    after = {s.table: s for s in table_stats()}
    assert lakehouse.pid() is not None, "the lakehouse job was not started again"
    for table in ("bronze/transactions", "silver/transactions"):
        assert after[table].rows == before[table].rows, table
    assert after["bronze/transactions"].files < before["bronze/transactions"].files
    assert sum(s.files for s in after.values()) < sum(s.files for s in before.values())
    assert conn.execute("SELECT count(*) FROM lakehouse_table_stats").fetchone()[0] >= recorded + len(after)
