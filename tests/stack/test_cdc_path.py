"""PostgreSQL → Debezium → Kafka: every change arrives, with its values exact."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import pytest

from fraudlake.cdc import Op
from fraudlake.schema import COLUMN_NAMES

from .cdc_helpers import collect_events, end_offsets, topic_consumer

pytestmark = pytest.mark.stack


def a_transaction(trans_num: str) -> dict:
    return {
        "trans_date_trans_time": datetime(2019, 1, 1, 0, 0, 18),
        "cc_num": 2703186189652095,
        "merchant": "fraud_Rippin, Kub and Mann",
        "category": "misc_net",
        # More significant digits than a float32 holds, and a value binary floats cannot hold.
        "amt": Decimal("12345678.91"),
        "first": "Jennifer",
        "last": "Banks",
        "gender": "F",
        "street": "561 Perry Cove",
        "city": "Moravian Falls",
        "state": "NC",
        "zip": 28654,
        "lat": 36.0788,
        "long": -81.1781,
        "city_pop": 3495,
        "job": "Psychologist, counselling",
        "dob": date(1988, 3, 9),
        "trans_num": trans_num,
        "unix_time": 1325376018,
        "merch_lat": 36.011293,
        "merch_long": -82.048315,
        "is_fraud": 0,
    }


def insert(db, row: dict) -> None:
    columns = ", ".join(f'"{c}"' for c in COLUMN_NAMES)
    placeholders = ", ".join(["%s"] * len(COLUMN_NAMES))
    db.execute(f"INSERT INTO transactions ({columns}) VALUES ({placeholders})", [row[c] for c in COLUMN_NAMES])


def test_insert_update_delete_arrive_as_debezium_events_with_exact_values(full_stack, db):
    trans_num = f"cdc-{uuid.uuid4().hex}"
    row = a_transaction(trans_num)
    consumer = topic_consumer(end_offsets())
    try:
        insert(db, row)
        db.execute("UPDATE transactions SET amt = %s, is_fraud = 1 WHERE trans_num = %s", (Decimal("0.10"), trans_num))
        db.execute("DELETE FROM transactions WHERE trans_num = %s", (trans_num,))
        events = collect_events(consumer, done=lambda found: len(found) >= 3,
                                keep=lambda event: event.trans_num == trans_num)
    finally:
        consumer.close()

    assert [event.op for event in events] == [Op.CREATE, Op.UPDATE, Op.DELETE]
    created, updated, deleted = events

    decoded = {column: created.after[column] for column in COLUMN_NAMES}
    assert decoded == row
    assert isinstance(created.after["amt"], Decimal) and str(created.after["amt"]) == "12345678.91"
    assert created.after["created_at"].tzinfo is not None
    assert created.lsn is not None and not created.snapshot

    assert updated.after["amt"] == Decimal("0.10") and updated.after["is_fraud"] == 1
    assert updated.lsn > created.lsn

    assert deleted.after is None and deleted.before["trans_num"] == trans_num


def test_a_row_too_large_for_kafka_arrives_cut_and_the_stream_goes_on(full_stack, db):
    """A row written around the producer's bounds whose whole change event Kafka would
    refuse (over 1 MiB): the connector cuts its text to 16,000 characters, so the task
    keeps running and the next row follows."""
    from fraudlake import settings as cfg
    from fraudlake.stack.connect import KafkaConnect

    connect = KafkaConnect(cfg.get_path_settings(), cfg.get_connect_settings(), cfg.get_kafka_settings(),
                           cfg.get_postgres_settings())
    start = end_offsets()
    huge, after = f"huge-{uuid.uuid4().hex[:12]}", f"after-{uuid.uuid4().hex[:12]}"
    insert(db, a_transaction(huge) | {"merchant": "m" * 2_000_000})  # a 2 MB event; Kafka takes 1 MiB
    insert(db, a_transaction(after))
    ours = {huge, after}
    # The two keys may hash to different partitions: wait for both, in any order.
    events = collect_events(topic_consumer(start), lambda found: {e.trans_num for e in found} >= ours,
                            lambda event: event.trans_num in ours, timeout=120)
    by_key = {event.trans_num: event for event in events}
    assert sorted(e.trans_num for e in events) == sorted(ours)
    assert by_key[huge].after["merchant"] == "m" * 16_000
    assert connect.status()["connector"].startswith("RUNNING (tasks: RUNNING)")
