"""Shared by the alert tests: settings for a fake Slack, the ledger, what Slack holds."""

from __future__ import annotations

import json
import time

from fraudlake.settings import AlertSettings
from tests.fakeslack import FakeSlack, Received


def settings(slack: FakeSlack | None, **overrides) -> AlertSettings:
    # A high threshold keeps other tests' leftovers from turning these messages into digests.
    values = dict(alert_digest_threshold=1000, alert_poll_seconds=0.05, slack_timeout_seconds=5)
    return AlertSettings(slack_webhook_url=slack.url if slack else None, **{**values, **overrides})


def ledger(db, trans_nums: list[str]) -> dict[str, dict]:
    rows = db.execute(
        "SELECT trans_num, status, attempts, last_error, sent_at FROM fraud_alerts WHERE trans_num = ANY(%s)", (trans_nums,)
    ).fetchall()
    return {row[0]: dict(zip(("status", "attempts", "last_error", "sent_at"), row[1:])) for row in rows}


def holding(messages: list[Received], trans_num: str) -> list[Received]:
    return [message for message in messages if trans_num in json.dumps(message.payload)]


def wait_for_alerts(slack: FakeSlack, trans_nums: list[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not all(holding(slack.messages, trans_num) for trans_num in trans_nums):
        assert time.monotonic() < deadline, f"alerts not delivered; Slack answered {slack.statuses}"
        time.sleep(0.05)
