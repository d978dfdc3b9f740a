"""The alert sender against the test PostgreSQL and a local fake Slack (the shared
database's rules: tests/alerts/conftest.py)."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from fraudlake.alerts.messages import mask_card
from fraudlake.alerts.sender import APPLICATION_NAME, AlertSender, counts
from fraudlake.settings import AlertSettings
from tests.alerts.helpers import holding, ledger, settings, wait_for_alerts
from tests.fakeslack import FakeSlack

pytestmark = pytest.mark.stack

CLOSED_PORT = 1  # nothing listens on tcpmux


def drain_until(sender: AlertSender, done, timeout: float = 30.0) -> None:
    """drain_once until `done()`, as `run` would but without its pauses."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the sender did not get there in time"
        sender.drain_once()


def test_each_pending_alert_arrives_once_with_its_blocks(postgres_service, db, slack, add_alert):
    mine = [add_alert("HIGH", amt="1077.69"), add_alert("MEDIUM", amt="12.50")]
    sender = AlertSender(postgres_service, settings(slack))
    try:
        assert sender.drain_once() >= 2
        messages = slack.messages
        for trans_num, amount in zip(mine, ("$1,077.69", "$12.50")):
            [message] = holding(messages, trans_num)
            shown = json.dumps(message.payload, ensure_ascii=False)
            cc_num = db.execute("SELECT cc_num FROM transactions WHERE trans_num = %s", (trans_num,)).fetchone()[0]
            for expected in (amount, "Kilback &amp; Sons", "shopping_net", mask_card(cc_num), "97.3%", "amt_vs_card_mean", "2020-06-21 12:14:25"):
                assert expected in shown
            assert str(cc_num) not in shown
        rows = ledger(db, mine)
        assert all(row["status"] == "sent" and row["attempts"] == 1 and row["sent_at"] for row in rows.values())

        assert sender.drain_once() == 0
        assert all(len(holding(slack.messages, trans_num)) == 1 for trans_num in mine)
        assert set(counts(db)) == {"pending", "sent", "failed", "disabled"} and counts(db)["sent"] >= 2
    finally:
        sender.close()


def test_slack_gets_a_message_once_its_rows_are_marked_sent_so_only_the_commit_follows(
        postgres_service, db, slack, add_alert):
    """The one at-least-once window (a crash between Slack's 200 and the commit) is as
    short as it can be: while Slack holds the request, the sender's transaction has
    already marked the rows sent, uncommitted, so its answer is followed by the COMMIT."""
    in_flight: list[str] = []  # the last statement of the sender's open transaction
    slack.on_request = lambda: in_flight.extend(row[0] for row in db.execute(
        "SELECT query FROM pg_stat_activity WHERE application_name = %s AND state = 'idle in transaction'",
        (APPLICATION_NAME,)))
    trans_num = add_alert("HIGH")
    sender = AlertSender(postgres_service, settings(slack))
    try:
        drain_until(sender, lambda: ledger(db, [trans_num])[trans_num]["status"] == "sent")
    finally:
        sender.close()
    assert in_flight and all(query.startswith("UPDATE fraud_alerts SET status = 'sent'") for query in in_flight)
    assert len(holding(slack.messages, trans_num)) == 1


def test_high_is_sent_before_medium_and_low(postgres_service, db, slack, add_alert):
    now = datetime.now(timezone.utc)
    low = add_alert("LOW", created_at=now - timedelta(minutes=3))
    medium = add_alert("MEDIUM", created_at=now - timedelta(minutes=2))
    high = add_alert("HIGH", created_at=now)
    older_high = add_alert("HIGH", created_at=now - timedelta(minutes=1))
    sender = AlertSender(postgres_service, settings(slack))
    try:
        sender.drain_once()
    finally:
        sender.close()
    order = {trans_num: slack.messages.index(holding(slack.messages, trans_num)[0]) for trans_num in (low, medium, high, older_high)}
    assert order[older_high] < order[high] < order[medium] < order[low]


def test_a_backlog_is_sent_as_digests_each_alert_once(postgres_service, db, slack, add_alert):
    mine = [add_alert(("HIGH", "MEDIUM")[i % 2]) for i in range(12)]
    sender = AlertSender(postgres_service, settings(slack, alert_digest_threshold=3, alert_digest_size=5))
    try:
        assert sender.drain_once() >= 12
    finally:
        sender.close()
    messages = slack.messages
    assert all(len(holding(messages, trans_num)) == 1 for trans_num in mine)
    digests = [message for message in messages if "fraud alerts (" in message.payload["text"]]
    assert len(digests) >= 2 and len(messages) < 12
    assert all(row["status"] == "sent" and row["attempts"] == 1 for row in ledger(db, mine).values())


def test_rate_limited_alerts_arrive_once_after_retry_after(postgres_service, db, slack, add_alert):
    slack.rate_limit(times=2, retry_after=2)
    mine = [add_alert("HIGH"), add_alert("MEDIUM")]
    sender = AlertSender(postgres_service, settings(slack))
    stop = threading.Event()
    started = time.monotonic()
    thread = threading.Thread(target=sender.run, args=(stop,))
    thread.start()
    try:
        wait_for_alerts(slack, mine)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    messages = slack.messages
    first = min(holding(messages, trans_num)[0].monotonic for trans_num in mine)
    assert first - started >= 2, f"first alert after {first - started:.2f} s, before Retry-After"
    assert all(len(holding(messages, trans_num)) == 1 for trans_num in mine)
    assert slack.statuses[:2] == [429, 429]
    # Waiting out a rate limit is not a failed attempt.
    assert all(row["status"] == "sent" and row["attempts"] == 1 for row in ledger(db, mine).values())


def test_server_errors_beyond_max_attempts_mark_the_alert_failed(postgres_service, db, slack, add_alert, caplog):
    caplog.set_level(logging.DEBUG)
    slack.fail(times=1000, status=500)
    trans_num = add_alert("HIGH")
    sender = AlertSender(postgres_service, settings(slack, alert_max_attempts=2))
    try:
        drain_until(sender, lambda: ledger(db, [trans_num])[trans_num]["status"] == "failed")
        assert sender.pause_seconds > 0  # `run` backs off before the next round
    finally:
        sender.close()
    row = ledger(db, [trans_num])[trans_num]
    assert row["attempts"] == 2 and row["sent_at"] is None
    assert "500" in row["last_error"] and "internal_error" in row["last_error"]
    assert slack.token not in row["last_error"] and "127.0.0.1" not in row["last_error"]
    assert not holding(slack.messages, trans_num)
    assert "internal_error" in caplog.text and slack.token not in caplog.text


def test_an_unreachable_webhook_is_an_error_without_the_url(postgres_service, db, add_alert, caplog):
    caplog.set_level(logging.DEBUG)
    with FakeSlack() as gone:
        url, token = gone.url, gone.token
    trans_num = add_alert("HIGH")
    sender = AlertSender(postgres_service, AlertSettings(slack_webhook_url=url, alert_max_attempts=1, alert_digest_threshold=1000))
    try:
        drain_until(sender, lambda: ledger(db, [trans_num])[trans_num]["status"] == "failed")
    finally:
        sender.close()
    last_error = ledger(db, [trans_num])[trans_num]["last_error"]
    assert "refused" in last_error.lower()
    assert token not in last_error and url not in last_error
    assert "refused" in caplog.text.lower() and token not in caplog.text


def test_an_empty_webhook_sends_nothing(postgres_service, db, add_alert, caplog):
    caplog.set_level(logging.INFO, logger="fraudlake.alerts.sender")
    trans_num = add_alert("HIGH")
    sender = AlertSender(postgres_service, settings(None))
    assert not sender.enabled
    assert sender.drain_once() == 0
    # As a process of its own it stays up, idle: a sender that exited would be restarted
    # by the supervisor over and over. It still beats, so its component is healthy.
    stop, rounds = threading.Event(), []
    running = threading.Thread(target=sender.run, args=(stop,), kwargs={"on_round": lambda: rounds.append(1)})
    running.start()
    time.sleep(0.5)
    stop.set()
    running.join(timeout=2)
    assert not running.is_alive() and rounds
    assert "disabled" in caplog.text
    row = ledger(db, [trans_num])[trans_num]
    assert row["status"] == "pending" and row["attempts"] == 0


def test_run_survives_postgresql_being_unreachable_and_stops_promptly(postgres_service, slack):
    unreachable = postgres_service.model_copy(update={"postgres_port": CLOSED_PORT})
    sender = AlertSender(unreachable, settings(slack))
    stop = threading.Event()
    thread = threading.Thread(target=sender.run, args=(stop,))
    thread.start()
    time.sleep(1)
    assert thread.is_alive()
    stop.set()
    thread.join(2)
    assert not thread.is_alive()


def test_run_reconnects_after_losing_its_connection(postgres_service, db, slack, add_alert):
    sender = AlertSender(postgres_service, settings(slack))
    stop = threading.Event()
    thread = threading.Thread(target=sender.run, args=(stop,))
    thread.start()
    try:
        first = add_alert("HIGH")
        wait_for_alerts(slack, [first])
        # Every alert sender survives this, so ending other tests' senders' connections is harmless.
        db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (APPLICATION_NAME,))
        second = add_alert("HIGH")
        wait_for_alerts(slack, [second])
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert all(len(holding(slack.messages, trans_num)) == 1 for trans_num in (first, second))
