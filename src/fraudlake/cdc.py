"""Decoding Debezium change events for `transactions` — the one place that knows the wire.

The connector (resources/debezium/connectors/postgres-transactions.json) sends JSON without
the schema envelope, with Debezium's default `time.precision.mode=adaptive` and
`decimal.handling.mode=string`, so on the wire:

- numeric(12,2) `amt`             → "107.23"           (string, exact)
- timestamp `trans_date_trans_time` → 1546300818000000   (µs since the epoch, wall clock)
- date `dob`                       → 6641               (days since the epoch)
- timestamptz `created_at`         → "2026-11-22T01:53:00.123456Z" (ISO-8601, UTC)
- bigint / integer / smallint / double → JSON numbers

`WIRE_ENCODING` states that per column type, so Spark jobs that decode in SQL
expressions follow the same table as the Python decoder here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from fraudlake.errors import FraudlakeError
from fraudlake.schema import PRIMARY_KEY, TRANSACTION_COLUMNS, ColumnType

EPOCH = datetime(1970, 1, 1)
EPOCH_DATE = date(1970, 1, 1)


class Op(str, Enum):
    CREATE = "c"
    UPDATE = "u"
    DELETE = "d"
    READ = "r"  # a row read by the initial snapshot
    TRUNCATE = "t"


class WireEncoding(str, Enum):
    NUMBER = "number"
    DECIMAL_STRING = "decimal-string"
    MICROS_SINCE_EPOCH = "micros-since-epoch"
    DAYS_SINCE_EPOCH = "days-since-epoch"
    ISO_TIMESTAMPTZ = "iso-timestamptz"
    TEXT = "text"


WIRE_ENCODING: dict[ColumnType, WireEncoding] = {
    ColumnType.TEXT: WireEncoding.TEXT,
    ColumnType.BIGINT: WireEncoding.NUMBER,
    ColumnType.INTEGER: WireEncoding.NUMBER,
    ColumnType.SMALLINT: WireEncoding.NUMBER,
    ColumnType.DOUBLE: WireEncoding.NUMBER,
    ColumnType.DECIMAL: WireEncoding.DECIMAL_STRING,
    ColumnType.TIMESTAMP: WireEncoding.MICROS_SINCE_EPOCH,
    ColumnType.DATE: WireEncoding.DAYS_SINCE_EPOCH,
}

# Columns of the table beyond the Kaggle 22.
EXTRA_COLUMNS = {"created_at": WireEncoding.ISO_TIMESTAMPTZ}


class CdcDecodeError(FraudlakeError, ValueError):
    """A message that is not a Debezium change event for `transactions`."""


def _decode_value(encoding: WireEncoding, value: Any) -> Any:
    if value is None:
        return None
    match encoding:
        case WireEncoding.DECIMAL_STRING:
            return Decimal(value)
        case WireEncoding.MICROS_SINCE_EPOCH:
            return EPOCH + timedelta(microseconds=value)
        case WireEncoding.DAYS_SINCE_EPOCH:
            return EPOCH_DATE + timedelta(days=value)
        case WireEncoding.ISO_TIMESTAMPTZ:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
        case _:
            return value


def decode_row(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    """A row image from an event, with Python types: Decimal, datetime, date."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise CdcDecodeError(f"a row image must be an object, not {type(raw).__name__}")
    encodings = {name: WIRE_ENCODING[kind] for name, kind in TRANSACTION_COLUMNS.items()}
    encodings |= {name: encoding for name, encoding in EXTRA_COLUMNS.items() if name in raw}
    row = {}
    for name, encoding in encodings.items():
        try:
            row[name] = _decode_value(encoding, raw.get(name))
        except (ValueError, ArithmeticError, TypeError) as exc:  # decimal's InvalidOperation is an ArithmeticError
            raise CdcDecodeError(f"column {name}: {str(raw.get(name))[:100]!r} is not {encoding.value}") from exc
    return row


@dataclass(frozen=True)
class ChangeEvent:
    """One event, decoded; the reference the Spark decoder (fraudlake.streaming.cdc) is tested against."""

    op: Op
    trans_num: str | None  # None only for a TRUNCATE, which names no row
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    lsn: int | None
    source_ts_ms: int | None  # bronze's `source_ts`, in milliseconds
    snapshot: bool


def decode_event(key: bytes | str | None, value: bytes | str | None) -> ChangeEvent | None:
    """A Kafka record of the CDC topic as a ChangeEvent; None for a delete's tombstone."""
    if value is None:
        return None
    try:
        payload = json.loads(value)
        if "payload" in payload and "schema" in payload:  # converter with schemas.enable=true
            payload = payload["payload"]
        op = Op(payload["op"])
        source = payload.get("source") or {}
        if not isinstance(source, dict):
            raise TypeError(f"source is a {type(source).__name__}, not an object")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CdcDecodeError(f"not a Debezium change event: {exc}: {str(value)[:200]!r}") from exc
    before, after = decode_row(payload.get("before")), decode_row(payload.get("after"))
    trans_num = (after or before or {}).get(PRIMARY_KEY)
    if trans_num is None and key is not None:
        trans_num = _key_trans_num(key)
    return ChangeEvent(
        op=op,
        trans_num=trans_num,
        before=before,
        after=after,
        lsn=source.get("lsn"),
        source_ts_ms=source.get("ts_ms"),
        snapshot=str(source.get("snapshot", "false")) not in ("false", "None"),
    )


def _key_trans_num(key: bytes | str) -> str:
    """The primary key from a record's key, `{"trans_num": "…"}`."""
    try:
        parsed = json.loads(key)  # a UnicodeDecodeError, for bytes that are not UTF-8, is a ValueError
    except ValueError as exc:
        raise CdcDecodeError(f"the record's key is not a JSON object: {str(key)[:200]!r}") from exc
    if not isinstance(parsed, dict):
        raise CdcDecodeError(f"the record's key is not a JSON object: {str(key)[:200]!r}")
    if parsed.get(PRIMARY_KEY) is None:
        raise CdcDecodeError(f"the record's key names no {PRIMARY_KEY}: {str(key)[:200]!r}")
    return parsed[PRIMARY_KEY]
