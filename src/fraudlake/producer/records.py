"""Lines of a Kaggle-format file as numbered records, checked in chunks.

Every line keeps its number and raw text, so a row that fails a check can be
quarantined with both. The checks are vectorised over a chunk (pandas string and
datetime parsing) because they sit on the bulk-load path, and they are at least as
strict as PostgreSQL's types: a row that passes never makes a COPY fail.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from fraudlake.kaggle import KaggleFormatError, header_problems
from fraudlake.schema import COLUMN_NAMES, DATE_FORMAT, TIMESTAMP_FORMAT, TRANSACTION_COLUMNS, ColumnType


@dataclass
class Record:
    line_number: int  # 1-based, in the source file; the header is line 1
    raw: str  # the line as read, without its line ending
    fields: list[str] = field(default_factory=list)  # the 22 columns, without the index column


@dataclass
class Rejected:
    record: Record
    reason: str


@dataclass
class CheckedChunk:
    good: list[Record]
    rejected: list[Rejected]


class KaggleFile:
    """A Kaggle-format CSV whose header has been checked; refused before any row is read."""

    def __init__(self, path: str | PathLike):
        self.path = Path(path)
        with self.path.open(newline="", encoding="utf-8", errors="replace") as handle:
            header = next(csv.reader(handle), [])
        problems = header_problems(header)
        if problems:
            raise KaggleFormatError(f"{self.path}: not the Kaggle transactions header ({'; '.join(problems)})")
        self.has_index = header[:1] == [""]

    @property
    def source(self) -> str:
        """How quarantined rows name this file."""
        return str(self.path.resolve())

    def data_rows(self) -> int:
        """Lines after the header, counted without parsing (for progress bars)."""
        count, last = 0, b"\n"
        with self.path.open("rb") as handle:
            while block := handle.read(1 << 22):
                count += block.count(b"\n")
                last = block[-1:]
        return count - 1 + (last != b"\n")

    def records(self, offset: int = 0, limit: int | None = None) -> Iterator[tuple[int, str | None, bytes]]:
        """(line number, decoded line or None if not UTF-8, raw bytes) per data row."""
        with self.path.open("rb") as handle:
            lines = islice(enumerate(handle, start=1), 1 + offset, None if limit is None else 1 + offset + limit)
            for number, raw in lines:
                raw = raw.rstrip(b"\r\n")
                try:
                    yield number, raw.decode("utf-8"), raw
                except UnicodeDecodeError:
                    yield number, None, raw

    def chunks(self, size: int, offset: int = 0, limit: int | None = None) -> Iterator[CheckedChunk]:
        rows = self.records(offset, limit)
        while batch := list(islice(rows, size)):
            yield check_lines(batch, self.has_index)


def check_lines(lines: list[tuple[int, str | None, bytes]], has_index: bool) -> CheckedChunk:
    """Parse and check one chunk of numbered lines."""
    records, rejected = [], []
    width = len(COLUMN_NAMES) + has_index
    for number, text, raw in lines:
        if text is None:
            rejected.append(Rejected(Record(number, raw.decode("utf-8", "replace")), "not UTF-8"))
            continue
        record = Record(number, text)
        fields = next(csv.reader((text,)), [])
        if "\x00" in text:
            rejected.append(Rejected(record, "NUL character in line"))
        elif len(fields) != width:
            rejected.append(Rejected(record, f"expected {width} columns, found {len(fields)}"))
        else:
            record.fields = fields[has_index:]
            records.append(record)
    reasons = _row_problems(records)
    for record, reason in zip(records, reasons):
        if reason is not None:
            rejected.append(Rejected(record, reason))
    rejected.sort(key=lambda item: item.record.line_number)
    return CheckedChunk([r for r, reason in zip(records, reasons) if reason is None], rejected)


# A check takes a column's values and answers which fail, and why, per value.
Check = Callable[[pd.Series], pd.Series]


def _fails_pattern(pattern: str) -> Check:
    compiled = re.compile(pattern)
    return lambda values: ~values.str.fullmatch(compiled).astype(bool)


def _fails_time(fmt: str) -> Check:
    return lambda values: pd.to_datetime(values, format=fmt, errors="coerce").isna()


def _fails_float(values: pd.Series) -> pd.Series:
    return ~np.isfinite(pd.to_numeric(values, errors="coerce").astype(float))


def _outside(low: float, high: float) -> Check:
    return lambda values: ~pd.to_numeric(values, errors="coerce").between(low, high)


def _fails_bigint(values: pd.Series) -> pd.Series:
    digits = values.str.removeprefix("-")
    # Same-length digit strings compare like the numbers they spell.
    return _fails_pattern(r"-?\d{1,19}")(values) | ((digits.str.len() == 19) & (digits > str(2**63 - 1)))


_PARSE: dict[ColumnType, Check] = {
    ColumnType.TIMESTAMP: _fails_time(TIMESTAMP_FORMAT),
    ColumnType.DATE: _fails_time(DATE_FORMAT),
    ColumnType.BIGINT: _fails_bigint,
    ColumnType.INTEGER: _fails_pattern(r"-?\d{1,10}"),
    ColumnType.SMALLINT: _fails_pattern(r"-?\d{1,5}"),
    ColumnType.DOUBLE: _fails_float,
    ColumnType.DECIMAL: _fails_pattern(r"-?\d+(\.\d*)?|-?\.\d+"),
}

# Checks on parsable values: (column, reason, check), applied in this order.
_RANGES: list[tuple[str, str, Check]] = [
    ("cc_num", "cc_num not positive", _fails_pattern(r"0*[1-9]\d*")),
    ("amt", "amt has more than 2 decimals", _fails_pattern(r"-?\d*(\.\d{0,2})?")),
    ("amt", "amt out of range (0, 10^10)", _outside(0.01, 9_999_999_999.99)),
    ("gender", "gender not M or F", _fails_pattern(r"[MF]")),
    ("zip", "zip out of range [0, 99999]", _outside(0, 99_999)),
    ("lat", "lat out of range [-90, 90]", _outside(-90, 90)),
    ("long", "long out of range [-180, 180]", _outside(-180, 180)),
    ("city_pop", "city_pop out of range [0, 2^31)", _outside(0, 2**31 - 1)),
    ("trans_num", "trans_num longer than 64 characters", _fails_pattern(r".{1,64}")),
    ("merch_lat", "merch_lat out of range [-90, 90]", _outside(-90, 90)),
    ("merch_long", "merch_long out of range [-180, 180]", _outside(-180, 180)),
    ("is_fraud", "is_fraud not 0 or 1", _fails_pattern(r"[01]")),
]


def _row_problems(records: list[Record]) -> list[str | None]:
    """The first problem of each record, or None; columns are checked in file order."""
    if not records:
        return []
    frame = pd.DataFrame([r.fields for r in records], columns=list(COLUMN_NAMES), dtype=object)
    reasons = pd.Series([None] * len(records), dtype=object)

    def flag(failing: pd.Series, reason: Callable[[str], str], column: str) -> None:
        todo = reasons.isna() & failing.to_numpy()
        reasons[todo] = frame.loc[todo, column].map(reason)

    for column, kind in TRANSACTION_COLUMNS.items():
        values = frame[column]
        flag(values == "", lambda _, c=column: f"empty {c}", column)
        if kind in _PARSE:
            flag(reasons.isna() & _PARSE[kind](values), lambda v, c=column: f"unparsable {c}: {v!r}", column)
    for column, reason, check in _RANGES:
        open_rows = reasons.isna()
        failing = pd.Series(False, index=frame.index)
        failing[open_rows] = check(frame.loc[open_rows, column])
        flag(failing, lambda v, r=reason: f"{r}: {v!r}", column)
    open_rows = reasons.isna()
    late_birth = pd.Series(False, index=frame.index)
    late_birth[open_rows] = frame.loc[open_rows, "dob"] > frame.loc[open_rows, "trans_date_trans_time"].str[:10]
    flag(late_birth, lambda v: f"dob after trans_date_trans_time: {v!r}", "dob")
    return reasons.tolist()


def to_csv_text(rows: Iterable[list[str]]) -> str:
    """Rows as CSV, quoted the way PostgreSQL's COPY … (FORMAT csv) reads them back."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()
