"""The transaction record: the 22 Kaggle columns, their types, and their order.

Everything that reads or writes a transaction (the CSV loader, the PostgreSQL DDL,
the CDC decoder, Spark schemas, the model's features) takes the column list from
here, so the order and types are stated once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum


class ColumnType(str, Enum):
    TEXT = "text"
    BIGINT = "bigint"
    INTEGER = "integer"
    DOUBLE = "double"
    DECIMAL = "decimal"  # exact money: numeric(12,2) in PostgreSQL, a string on the wire
    TIMESTAMP = "timestamp"  # wall-clock time without zone, as in the Kaggle file
    DATE = "date"
    SMALLINT = "smallint"


# Order is the Kaggle file's (after its unnamed index column).
TRANSACTION_COLUMNS: dict[str, ColumnType] = {
    "trans_date_trans_time": ColumnType.TIMESTAMP,
    "cc_num": ColumnType.BIGINT,
    "merchant": ColumnType.TEXT,
    "category": ColumnType.TEXT,
    "amt": ColumnType.DECIMAL,
    "first": ColumnType.TEXT,
    "last": ColumnType.TEXT,
    "gender": ColumnType.TEXT,
    "street": ColumnType.TEXT,
    "city": ColumnType.TEXT,
    "state": ColumnType.TEXT,
    "zip": ColumnType.INTEGER,
    "lat": ColumnType.DOUBLE,
    "long": ColumnType.DOUBLE,
    "city_pop": ColumnType.INTEGER,
    "job": ColumnType.TEXT,
    "dob": ColumnType.DATE,
    "trans_num": ColumnType.TEXT,
    "unix_time": ColumnType.BIGINT,
    "merch_lat": ColumnType.DOUBLE,
    "merch_long": ColumnType.DOUBLE,
    "is_fraud": ColumnType.SMALLINT,
}

COLUMN_NAMES: tuple[str, ...] = tuple(TRANSACTION_COLUMNS)

# The Kaggle CSV header: an unnamed pandas index column, then the 22 columns.
KAGGLE_HEADER: tuple[str, ...] = ("",) + COLUMN_NAMES

PRIMARY_KEY = "trans_num"

# The table as Debezium names it (the connector's table.include.list); its topic is
# `<KAFKA_TOPIC_PREFIX>.<CDC_TABLE>`.
CDC_TABLE = "public.transactions"

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"


# --- What a plausible transaction is. The producer's row checks and the API's request
# validation both read these, so a row the producer quarantines is a row the API refuses.

@dataclass(frozen=True)
class Bound:
    """An inclusive range of a numeric column."""

    low: float
    high: float
    shown: str  # as messages state it

    def problem(self, column: str) -> str:
        return f"{column} out of range {self.shown}"


VALUE_BOUNDS: dict[str, Bound] = {
    # bigint, and positive: card numbers are. Beyond int64 nothing downstream can hold it.
    "cc_num": Bound(1, 2**63 - 1, "[1, 2^63)"),
    # numeric(12,2) in PostgreSQL; float32 (XGBoost's input type) holds far more.
    "amt": Bound(0.01, 9_999_999_999.99, "(0, 10^10)"),
    "zip": Bound(0, 99_999, "[0, 99999]"),
    "lat": Bound(-90, 90, "[-90, 90]"),
    "long": Bound(-180, 180, "[-180, 180]"),
    "city_pop": Bound(0, 2**31 - 1, "[0, 2^31)"),
    "merch_lat": Bound(-90, 90, "[-90, 90]"),
    "merch_long": Bound(-180, 180, "[-180, 180]"),
}

TRANS_NUM_MAX_LENGTH = 64  # Kaggle's are 32 hex digits; it is echoed back and used as a key everywhere

# A transaction time outside this window is a typo or an attack, not a purchase: the
# model's age and history features are meaningless there. [EARLIEST, LATEST).
EARLIEST_TRANSACTION_TIME = datetime(1970, 1, 1)
LATEST_TRANSACTION_TIME = datetime(2100, 1, 1)
TRANSACTION_TIME_PROBLEM = (f"trans_date_trans_time outside [{EARLIEST_TRANSACTION_TIME:%Y-%m-%d}, "
                            f"{LATEST_TRANSACTION_TIME:%Y-%m-%d})")
EARLIEST_DOB = date(1900, 1, 1)
DOB_TOO_EARLY_PROBLEM = f"dob before {EARLIEST_DOB:%Y-%m-%d}"
DOB_AFTER_TRANSACTION_PROBLEM = "dob after trans_date_trans_time"

# PostgreSQL text cannot hold NUL; a string with one fails the statement it is in.
NUL_PROBLEM = "NUL character"
