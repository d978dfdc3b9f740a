"""The alert sender as a process of its own (the `alerts` component of `make up`):
healthy once it works, and what a kill -9 of it repeats: the one message in flight,
never another. A kill -9 of the prediction job repeats none (tests/faults)."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from click.testing import CliRunner

from fraudlake.cli import main as fraudlake_cli
from tests.alerts.helpers import holding, ledger, wait_for_alerts
from tests.streaming.helpers import component, environment

pytestmark = pytest.mark.stack


@pytest.fixture
def sender_process(postgres_service, slack):
    """The `alerts` component started against the fake Slack; stopped after."""
    # A high threshold keeps another test's leftovers from folding these into a digest.
    with environment({"SLACK_WEBHOOK_URL": slack.url, "ALERT_DIGEST_THRESHOLD": "1000", "ALERT_POLL_SECONDS": "0.05"}):
        process = component("alerts")
        process.stop()
        try:
            process.start()
            yield process
        finally:
            process.stop()


def wait_sent(db, trans_nums: list[str], timeout: float = 30.0) -> dict[str, dict]:
    """The ledger rows once all are `sent` (the COMMIT follows Slack's answer)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = ledger(db, trans_nums)
        if all(row["status"] == "sent" for row in rows.values()):
            return rows
        assert time.monotonic() < deadline, f"ledger rows not sent: {rows}"
        time.sleep(0.05)


def alerts_check() -> int:
    return CliRunner().invoke(fraudlake_cli, ["alerts", "check"]).exit_code


def test_the_sender_process_sends_each_alert_once_and_is_healthy_only_while_it_runs(sender_process, db, slack,
                                                                                     add_alert):
    mine = [add_alert("HIGH"), add_alert("MEDIUM")]
    wait_for_alerts(slack, mine)
    wait_sent(db, mine)
    assert [len(holding(slack.messages, trans_num)) for trans_num in mine] == [1, 1]
    state = sender_process.status()
    assert state["healthy"] and state["pid"] and state["port"] is None
    assert alerts_check() == 0

    sender_process.stop()
    assert not sender_process.status()["healthy"] and not sender_process.crashed()
    assert alerts_check() == 1


def test_a_kill_9_with_a_message_in_flight_repeats_that_message_alone(sender_process, db, slack, add_alert):
    """The one at-least-once window (fraudlake.alerts.sender): Slack has the message,
    the sender dies before its COMMIT. After the restart that message, and only it, is
    sent again; nothing is lost."""
    requests = []

    def kill_during_the_second_request() -> None:
        requests.append(time.monotonic())
        if len(requests) == 2:
            sender_process.kill()  # returns once it is gone; Slack records the message after

    slack.on_request = kill_during_the_second_request
    mine = [add_alert("HIGH") for _ in range(4)]
    slack.wait_for(2)
    assert sender_process.crashed()  # the supervisor would restart it; here the test does

    sender_process.start()
    wait_for_alerts(slack, mine)
    rows = wait_sent(db, mine)
    messages = slack.messages
    in_flight = json.dumps(messages[1].payload, sort_keys=True)
    sent_times = Counter(json.dumps(message.payload, sort_keys=True) for message in messages)
    assert sent_times[in_flight] == 2
    assert all(times == 1 for payload, times in sent_times.items() if payload != in_flight)
    assert all(row["attempts"] == 1 for row in rows.values())  # the killed transaction left no trace


def test_a_kill_9_between_messages_repeats_nothing_and_loses_nothing(sender_process, db, slack, add_alert):
    before = [add_alert("HIGH"), add_alert("MEDIUM")]
    wait_for_alerts(slack, before)
    wait_sent(db, before)
    sender_process.kill()
    during = [add_alert("HIGH"), add_alert("MEDIUM")]  # pending while no sender runs

    sender_process.start()
    wait_for_alerts(slack, during)
    wait_sent(db, during)
    assert [len(holding(slack.messages, trans_num)) for trans_num in before + during] == [1, 1, 1, 1]
