"""Fixtures of the alert tests: a fake Slack, and pending alerts in the shared test database.

The test database is shared: every test inserts its own uuid trans_nums, asserts on
those only (another test's leftover pending alerts may be sent alongside), and
deletes them afterwards.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from decimal import Decimal

import pytest

from tests.fakeslack import FakeSlack


@pytest.fixture
def slack():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def add_alert(db):
    """Inserts a transaction, its prediction and a pending alert; returns the trans_num."""
    added: list[str] = []

    def add(level: str = "HIGH", *, amt: str = "1077.69", created_at: datetime | None = None) -> str:
        trans_num = uuid.uuid4().hex
        cc_num = 4_000_000_000_000_000 + len(added) * 1_000_003
        top_features = [{"feature": "amt_vs_card_mean", "value": 12.3, "contribution": 1.7}]
        with db.transaction():
            db.execute(
                """INSERT INTO transactions (trans_date_trans_time, cc_num, merchant, category, amt, first, last,
                       gender, street, city, state, zip, lat, long, city_pop, job, dob, trans_num, unix_time,
                       merch_lat, merch_long, is_fraud)
                   VALUES ('2020-06-21 12:14:25', %s, 'fraud_Kilback & Sons', 'shopping_net', %s, 'Jeff', 'Elliott',
                       'M', '351 Darlene Green', 'Columbia', 'SC', 29209, 33.9659, -80.9355, 333497, 'Mechanical engineer',
                       '1968-03-19', %s, 1371816865, 33.986391, -81.200714, 1)""",
                (cc_num, Decimal(amt), trans_num),
            )
            db.execute(
                """INSERT INTO fraud_predictions (trans_num, fraud_probability, is_fraud_predicted, risk_level,
                       model_version, top_features)
                   VALUES (%s, 0.973, true, %s, 'test', %s)""",
                (trans_num, level, json.dumps(top_features)),
            )
            db.execute(
                "INSERT INTO fraud_alerts (trans_num, risk_level, created_at) VALUES (%s, %s, coalesce(%s, now()))",
                (trans_num, level, created_at),
            )
        added.append(trans_num)
        return trans_num

    yield add
    with db.transaction():
        for table in ("fraud_alerts", "fraud_predictions", "transactions"):
            db.execute(f"DELETE FROM {table} WHERE trans_num = ANY(%s)", (added,))
