"""One meaning of an event: Spark's decoder (fraudlake.streaming.cdc) and Python's
(fraudlake.cdc) give the same values for the same Debezium messages."""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal

import pytest

from fraudlake.cdc import decode_event
from fraudlake.lakehouse.tables import KAFKA_RECORD_SCHEMA
from fraudlake.streaming.cdc import ROW_COLUMNS, decode_cdc
from tests.stack.cdc_helpers import end_offsets, topic_consumer
from tests.stack.test_cdc_path import a_transaction, insert
from tests.test_cdc import AFTER, envelope

pytestmark = pytest.mark.spark


def spark_decode(spark, messages: list[tuple[bytes | None, bytes | None]]) -> list:
    records = [(key, value, "t", 0, offset, None, 0) for offset, (key, value) in enumerate(messages)]
    return decode_cdc(spark.createDataFrame(records, KAFKA_RECORD_SCHEMA)).orderBy("kafka_offset").collect()


def _same_instant(a, b) -> bool:
    # Python's decoder gives an aware UTC datetime; Spark hands a timestamp to Python
    # as a naive one in the process's zone. Both name one instant.
    return (a is None and b is None) or a.timestamp() == b.timestamp()


def assert_same_meaning(spark, messages: list[tuple[bytes | None, bytes]]) -> None:
    rows = spark_decode(spark, messages)
    assert len(rows) == len(messages)
    for (key, value), row in zip(messages, rows):
        event = decode_event(key, value)
        image = event.after if event.after is not None else event.before
        assert row.error is None, row.error
        assert row.op == event.op.value and row.lsn == event.lsn
        assert row.source_ts.timestamp() * 1000 == pytest.approx(event.source_ts_ms)
        for column in ROW_COLUMNS:
            if column == "created_at":
                assert _same_instant(image.get(column), row[column])
            else:
                assert row[column] == image.get(column), column
                assert type(row[column]) is type(image.get(column)), column


def test_each_op_decodes_to_the_values_python_gives(spark):
    key = b'{"trans_num": "0b242abb623afc578575680df30655b9"}'
    wrapped = json.dumps({"schema": {}, "payload": json.loads(envelope("c", after=AFTER))}).encode()
    updated = {**AFTER, "amt": "12345678.91", "is_fraud": 1}
    assert_same_meaning(spark, [
        (key, envelope("c", after=AFTER)),
        (key, envelope("r", after=AFTER, snapshot="true")),
        (key, envelope("u", before=None, after=updated)),
        (key, envelope("d", before={"trans_num": "0b242abb623afc578575680df30655b9"})),
        (None, wrapped),
    ])
    (row,) = spark_decode(spark, [(key, envelope("u", after=updated))])
    assert row.amt == Decimal("12345678.91")


@pytest.mark.parametrize(("value", "reason"), [
    (b"not json", "not JSON"),
    (b'{"op": "c", "after": "a string, not a row"}', "JSON, but not shaped like a Debezium change event"),
    (b'{"after": {"trans_num": "x"}}', "not a Debezium change event: no op"),
    (b'{"op": "z", "after": {"trans_num": "x"}}', "unsupported op z"),
    (envelope("c"), "op c without an after image"),
    (envelope("d"), "delete without a before image"),
    (envelope("c", after={**AFTER, "trans_num": None}), "no trans_num in the row image"),
    (envelope("c", after={**AFTER, "amt": "12,5"}), "column amt: 12,5 does not cast to decimal(12,2)"),
    (envelope("c", after={**AFTER, "dob": "yesterday"}), "column dob: yesterday does not cast to date"),
    (envelope("c", after={**AFTER, "zip": 1.5}), "column zip: 1.5 does not cast to int"),
])
def test_a_record_that_cannot_be_used_gets_its_reason(spark, value, reason):
    (row,) = spark_decode(spark, [(b"k", value)])
    assert row.error == reason
    assert row.raw_value == value.decode()


def test_a_tombstone_is_dropped_not_an_error(spark):
    assert spark_decode(spark, [(b'{"trans_num": "x"}', None)]) == []


@pytest.mark.stack
def test_recorded_debezium_messages_decode_the_same_in_spark_and_python(full_stack, db, spark):
    """The real connector's messages for an insert, an update and a delete."""
    trans_num = f"spark-cdc-{uuid.uuid4().hex}"
    consumer = topic_consumer(end_offsets())
    try:
        insert(db, a_transaction(trans_num))
        db.execute("UPDATE transactions SET amt = %s, is_fraud = 1 WHERE trans_num = %s", (Decimal("0.10"), trans_num))
        db.execute("DELETE FROM transactions WHERE trans_num = %s", (trans_num,))
        recorded, deadline = [], time.monotonic() + 60
        while len(recorded) < 3 and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error() and message.value() is not None \
                    and trans_num.encode() in message.value():
                recorded.append((message.key(), message.value()))
    finally:
        consumer.close()
    assert [json.loads(value)["op"] for _, value in recorded] == ["c", "u", "d"]
    assert_same_meaning(spark, recorded)
