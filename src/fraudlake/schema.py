"""The transaction record: the 22 Kaggle columns, their types, and their order.

Everything that reads or writes a transaction (the CSV loader, the PostgreSQL DDL,
the CDC decoder, Spark schemas, the model's features) takes the column list from
here, so the order and types are stated once.
"""

from __future__ import annotations

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

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"
