"""Decoding Debezium events: the wire encodings of each column type."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from fraudlake.cdc import CdcDecodeError, Op, decode_event

AFTER = {
    "trans_date_trans_time": 1546300818000000,  # 2019-01-01 00:00:18 as µs since the epoch
    "cc_num": 2703186189652095, "merchant": "fraud_Rippin, Kub and Mann", "category": "misc_net",
    "amt": "4.97", "first": "Jennifer", "last": "Banks", "gender": "F", "street": "561 Perry Cove",
    "city": "Moravian Falls", "state": "NC", "zip": 28654, "lat": 36.0788, "long": -81.1781,
    "city_pop": 3495, "job": "Psychologist, counselling",
    "dob": 6642,  # 1988-03-09 as days since the epoch
    "trans_num": "0b242abb623afc578575680df30655b9", "unix_time": 1325376018,
    "merch_lat": 36.011293, "merch_long": -82.048315, "is_fraud": 0,
    "created_at": "2026-11-22T01:53:00.123456Z",
}


def envelope(op: str, before=None, after=None, snapshot="false") -> bytes:
    return json.dumps({"before": before, "after": after, "op": op, "ts_ms": 1,
                       "source": {"lsn": 123456, "ts_ms": 1, "snapshot": snapshot}}).encode()


def test_an_insert_decodes_every_wire_encoding():
    event = decode_event(b'{"trans_num": "0b242abb623afc578575680df30655b9"}', envelope("c", after=AFTER))
    assert event.op is Op.CREATE and event.lsn == 123456 and not event.snapshot
    row = event.after
    assert row["trans_date_trans_time"] == datetime(2019, 1, 1, 0, 0, 18)
    assert row["dob"] == date(1988, 3, 9)
    assert row["amt"] == Decimal("4.97") and isinstance(row["amt"], Decimal)
    assert row["created_at"] == datetime(2026, 11, 22, 1, 53, 0, 123456, tzinfo=UTC)
    assert row["merchant"] == "fraud_Rippin, Kub and Mann"


def test_a_snapshot_read_is_marked_as_snapshot():
    event = decode_event(None, envelope("r", after=AFTER, snapshot="true"))
    assert event.op is Op.READ and event.snapshot


def test_a_delete_takes_its_key_from_before():
    event = decode_event(None, envelope("d", before={"trans_num": "x1"}))
    assert event.op is Op.DELETE and event.trans_num == "x1" and event.after is None


def test_the_schema_envelope_is_unwrapped():
    wrapped = json.dumps({"schema": {}, "payload": json.loads(envelope("c", after=AFTER))}).encode()
    assert decode_event(None, wrapped).after["amt"] == Decimal("4.97")


def test_a_tombstone_is_none():
    assert decode_event(b'{"trans_num": "x1"}', None) is None


@pytest.mark.parametrize("value", [b"not json", b'{"op": "z"}', b'{"after": {}}'])
def test_a_message_that_is_not_a_change_event_is_a_clear_error(value):
    with pytest.raises(CdcDecodeError, match="not a Debezium change event"):
        decode_event(None, value)


@pytest.mark.parametrize(("after", "reason"), [
    ({**AFTER, "amt": "ten"}, "column amt: 'ten' is not decimal-string"),
    ({**AFTER, "dob": "yesterday"}, "column dob: 'yesterday' is not days-since-epoch"),
    ("not an object", "a row image must be an object"),
])
def test_a_value_that_does_not_decode_is_a_clear_error_naming_the_column(after, reason):
    with pytest.raises(CdcDecodeError, match=reason):
        decode_event(None, envelope("c", after=after))


@pytest.mark.parametrize(("key", "reason"), [
    (b"not json", "key is not a JSON object"),
    (b"\xff\xfe", "key is not a JSON object"),  # not UTF-8
    (b'"x1"', "key is not a JSON object"),
    (b"[1]", "key is not a JSON object"),
    (b'{"id": 1}', "key names no trans_num"),
])
def test_a_bad_key_is_a_cdc_decode_error(key, reason):
    # A CdcDecodeError, not the JSONDecodeError or AttributeError underneath.
    with pytest.raises(CdcDecodeError, match=reason):
        decode_event(key, envelope("d", before={"amt": "1.00"}))


def test_a_source_that_is_not_an_object_is_a_cdc_decode_error():
    value = json.dumps({"op": "c", "after": None, "source": "postgres"}).encode()
    with pytest.raises(CdcDecodeError, match="not a Debezium change event"):
        decode_event(None, value)
