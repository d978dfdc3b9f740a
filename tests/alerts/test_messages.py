"""Slack payloads for fraud alerts: what they show, what they never show, Slack's limits."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest

from fraudlake.alerts.messages import MAX_BLOCKS, MAX_DIGEST_ALERTS, MAX_SECTION_CHARS, Alert, alert_message, digest_message, mask_card

CARD = 4613314721966  # a Kaggle cc_num


def make_alert(**overrides) -> Alert:
    values = dict(
        trans_num="2da90c7d74bd46a0caf3777415b3ebd3",
        risk_level="HIGH",
        fraud_probability=0.9731,
        amt=Decimal("1077.69"),
        merchant="fraud_Rippin, Kub and Mann",
        category="shopping_net",
        cc_num=CARD,
        trans_date_trans_time=datetime(2019, 1, 2, 1, 6, 37),
        top_features=[
            {"feature": "amt_vs_card_mean", "value": 12.3, "contribution": 1.7},
            {"feature": "hour", "value": 1, "contribution": 0.9},
        ],
    )
    return Alert(**{**values, **overrides})


def texts(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False)


def test_mask_card_shows_the_last_four_digits_only():
    assert mask_card(CARD) == "•••• 1966"
    assert mask_card(60416207185) == "•••• 7185"


def test_alert_message_shows_the_transaction_and_why():
    payload = alert_message(make_alert())
    shown = texts(payload)
    assert payload["text"] and payload["blocks"][0]["type"] == "header"
    assert "HIGH" in payload["blocks"][0]["text"]["text"]
    for expected in ("$1,077.69", "Rippin, Kub and Mann", "shopping_net", "•••• 1966", "2019-01-02 01:06:37", "97.3%",
                     "amt_vs_card_mean", "+1.70", "hour", "2da90c7d74bd46a0caf3777415b3ebd3"):
        assert expected in shown
    assert "fraud_Rippin" not in shown
    assert payload["blocks"][-1]["type"] == "context" and "2da90c7d74bd46a0caf3777415b3ebd3" in texts(payload["blocks"][-1])


@pytest.mark.parametrize("level", ["LOW", "MEDIUM", "HIGH"])
def test_every_level_has_a_header(level):
    assert level in alert_message(make_alert(risk_level=level))["blocks"][0]["text"]["text"]


def test_no_full_card_number_anywhere():
    assert str(CARD) not in texts(alert_message(make_alert()))
    assert str(CARD) not in texts(digest_message([make_alert(), make_alert(trans_num="x")], pending_after=3))


def test_a_deleted_transaction_still_gives_a_message():
    payload = alert_message(make_alert(amt=None, merchant=None, category=None, cc_num=None, trans_date_trans_time=None, top_features=[]))
    assert "97.3%" in texts(payload) and "2da90c7d74bd46a0caf3777415b3ebd3" in texts(payload)


def test_markup_in_names_is_escaped():
    shown = texts(alert_message(make_alert(merchant="fraud_A <b> & C")))
    assert "A &lt;b&gt; &amp; C" in shown and "<b>" not in shown


def test_digest_lists_every_alert_on_one_line_and_the_queue():
    alerts = [make_alert(trans_num=f"t{i:02}", risk_level=("HIGH", "MEDIUM")[i % 2], cc_num=CARD + i) for i in range(5)]
    payload = digest_message(alerts, pending_after=42)
    lines = "\n".join(block["text"]["text"] for block in payload["blocks"] if block["type"] == "section").splitlines()
    assert len(lines) == 5
    for alert, line in zip(alerts, lines):
        assert alert.trans_num in line and alert.risk_level in line and "$1,077.69" in line and "97.3%" in line
        assert mask_card(alert.cc_num) in line and "Rippin, Kub and Mann" in line
    assert "42" in texts(payload["blocks"][-1])
    assert "3 HIGH, 2 MEDIUM" in payload["blocks"][0]["text"]["text"]


def test_the_largest_digest_stays_within_slack_limits():
    long_name = "fraud_" + "&<>" * 200
    alerts = [make_alert(trans_num=f"{i:032x}", merchant=long_name, amt=Decimal("9999999999.99")) for i in range(MAX_DIGEST_ALERTS)]
    payload = digest_message(alerts, pending_after=10_000)
    assert len(payload["blocks"]) <= MAX_BLOCKS
    for block in payload["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION_CHARS
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
    shown = texts(payload)
    assert all(alert.trans_num in shown for alert in alerts)


def test_a_digest_refuses_more_than_it_can_hold():
    with pytest.raises(ValueError):
        digest_message([make_alert()] * (MAX_DIGEST_ALERTS + 1), pending_after=0)
    with pytest.raises(ValueError):
        digest_message([], pending_after=0)
