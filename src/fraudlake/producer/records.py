"""Lines of a Kaggle-format file, parsed and checked in chunks.

Every line keeps its number and raw text, so a row that fails a check can be
quarantined with both. This is the bulk-load path, so a chunk is parsed by Arrow's
CSV reader and checked with Arrow compute kernels; only a chunk Arrow cannot map
one line to one row (a short line, an unclosed quote, bytes that are not UTF-8)
is parsed line by line in Python. The checks are at least as strict as
PostgreSQL's types, so a row that passes never makes a COPY fail.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from os import PathLike
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from fraudlake.kaggle import KaggleFormatError, header_problems
from fraudlake.schema import (COLUMN_NAMES, DATE_FORMAT, DOB_AFTER_TRANSACTION_PROBLEM, DOB_TOO_EARLY_PROBLEM,
                              EARLIEST_DOB, EARLIEST_TRANSACTION_TIME, LATEST_TRANSACTION_TIME, NUL_PROBLEM,
                              TIMESTAMP_FORMAT, TRANS_NUM_MAX_LENGTH, TRANSACTION_COLUMNS, TRANSACTION_TIME_PROBLEM,
                              VALUE_BOUNDS, Bound, ColumnType)
from fraudlake.settings import get_producer_settings

LINE_NUMBER = "line_number"  # extra column of a checked chunk: where the row is in its file
_STRINGS = pa.schema([(name, pa.string()) for name in COLUMN_NAMES])
GOOD_SCHEMA = _STRINGS.append(pa.field(LINE_NUMBER, pa.int64()))  # of CheckedChunk.good


@dataclass
class Rejected:
    line_number: int  # 1-based, in the source file; the header is line 1
    raw: str  # the line as read, without its line ending; see `_text`
    reason: str


@dataclass
class CheckedChunk:
    good: pa.Table  # the 22 columns as text, exactly as in the file, plus LINE_NUMBER
    rejected: list[Rejected]


class KaggleFile:
    """A Kaggle-format CSV whose header has been checked; refused before any row is read."""

    def __init__(self, path: str | PathLike):
        self.path = Path(path)
        # utf-8-sig: Excel starts a CSV it saves with a byte-order mark.
        with self.path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
            try:
                header = next(csv.reader(handle), [])
            except csv.Error as exc:  # e.g. a first line longer than csv's field limit
                raise KaggleFormatError(f"{self.path}: unreadable header ({exc})") from exc
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

    def chunks(self, size: int, offset: int = 0, limit: int | None = None) -> Iterator[CheckedChunk]:
        """The data rows after `offset`, at most `limit`, checked `size` lines at a time."""
        with self.path.open("rb") as handle:
            lines = islice(handle, 1 + offset, None if limit is None else 1 + offset + limit)
            first_line = 2 + offset
            while block := list(islice(lines, size)):
                yield check_block(first_line, block, self.has_index)
                first_line += len(block)


def check_block(first_line: int, lines: list[bytes], has_index: bool) -> CheckedChunk:
    """Parse and check consecutive lines of a file, the first being line `first_line`."""
    numbers = np.arange(first_line, first_line + len(lines))
    table = _parse_fast(lines, has_index)
    rejected = []
    if table is None:
        table, keep, rejected = _parse_slow(first_line, lines, has_index)
        numbers = numbers[keep]
    reasons = _row_problems(table)
    bad = np.array([reason is not None for reason in reasons], dtype=bool)
    rejected += [Rejected(int(numbers[i]), _text(lines[numbers[i] - first_line]), reasons[i])
                 for i in np.flatnonzero(bad)]
    rejected.sort(key=lambda item: item.line_number)
    good = table.filter(pa.array(~bad)).append_column(LINE_NUMBER, pa.array(numbers[~bad], pa.int64()))
    return CheckedChunk(good, rejected)


def _text(line: bytes) -> str:
    """The line as the quarantine stores it: bytes that are not UTF-8, and NUL, which
    PostgreSQL text cannot hold, written as `\\xNN` escapes, so the line can be rebuilt."""
    return line.rstrip(b"\r\n").decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


def _parse_fast(lines: list[bytes], has_index: bool) -> pa.Table | None:
    """The lines as a table of strings, or None unless each line is exactly one good row."""
    data = b"".join(lines)
    try:
        data.decode("utf-8")  # checked here: Arrow cannot report a bad line's text in a handler
    except UnicodeDecodeError:
        return None
    if b"\x00" in data:
        return None
    invalid = []
    names = [""] * has_index + list(COLUMN_NAMES)
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=True),
            parse_options=pacsv.ParseOptions(newlines_in_values=False,
                                              invalid_row_handler=lambda row: invalid.append(row) or "skip"),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except pa.ArrowInvalid:
        return None
    if invalid or table.num_rows != len(lines):
        return None
    return table.select(list(COLUMN_NAMES))


def _parse_slow(first_line: int, lines: list[bytes], has_index: bool) -> tuple[pa.Table, np.ndarray, list[Rejected]]:
    """Line by line: the table of well-formed rows, which lines they are, and the rest."""
    width = len(COLUMN_NAMES) + has_index
    rows, keep, rejected = [], [], []
    for position, line in enumerate(lines):
        text, reason = _text(line), None
        try:
            fields = next(csv.reader((line.rstrip(b"\r\n").decode("utf-8"),)), [])
        except UnicodeDecodeError:
            reason = "not UTF-8"
        except csv.Error as exc:  # a field over csv's 128 KiB limit, a stray quote or line break
            reason = f"unparsable line: {exc}"
        else:
            if b"\x00" in line:
                reason = f"{NUL_PROBLEM} in line"
            elif len(fields) != width:
                reason = f"expected {width} columns, found {len(fields)}"
        if reason is None:
            rows.append(fields[has_index:])
            keep.append(position)
        else:
            rejected.append(Rejected(first_line + position, text, reason))
    table = pa.Table.from_arrays([pa.array(column, pa.string()) for column in zip(*rows)], schema=_STRINGS) \
        if rows else _STRINGS.empty_table()
    return table, np.array(keep, dtype=int), rejected


# A check takes a column's values (an Arrow string array) and answers which fail.
Check = Callable[[pa.Array], pa.Array]


def _fails_pattern(pattern: str) -> Check:
    anchored = f"^(?:{pattern})$"
    return lambda values: pc.invert(pc.match_substring_regex(values, anchored))


def _fails_time(fmt: str) -> Check:
    def check(values: pa.Array) -> pa.Array:
        parsed = pc.strptime(values, format=fmt, unit="s", error_is_null=True)
        # Arrow reads 30 February as 2 March; printing the value back catches that.
        return pc.fill_null(pc.not_equal(pc.strftime(parsed, format=fmt), values), True)

    return check


def _outside(bound: Bound) -> Check:
    def check(values: pa.Array) -> pa.Array:
        # As floats: Arrow will not compare a double with an integer beyond 2^53.
        numbers = pc.cast(values, pa.float64())
        return pc.invert(pc.and_(pc.greater_equal(numbers, float(bound.low)), pc.less_equal(numbers, float(bound.high))))

    return check


def _before(earliest: str) -> Check:
    # Values already match their format, so comparing the text compares the times.
    return lambda values: pc.less(values, earliest)


def _not_before(latest: str) -> Check:
    return lambda values: pc.greater_equal(values, latest)


def _longer_than(characters: int) -> Check:
    return lambda values: pc.greater(pc.utf8_length(values), characters)


def _fails_bigint(values: pa.Array) -> pa.Array:
    digits = pc.utf8_ltrim(values, characters="-")
    # Same-length digit strings compare like the numbers they spell.
    too_big = pc.and_(pc.equal(pc.utf8_length(digits), 19), pc.greater(digits, str(2**63 - 1)))
    return pc.or_(_fails_pattern(r"-?\d{1,19}")(values), too_big)


_PARSE: dict[ColumnType, Check] = {
    ColumnType.TIMESTAMP: _fails_time(TIMESTAMP_FORMAT),
    ColumnType.DATE: _fails_time(DATE_FORMAT),
    ColumnType.BIGINT: _fails_bigint,
    ColumnType.INTEGER: _fails_pattern(r"-?\d{1,10}"),
    ColumnType.SMALLINT: _fails_pattern(r"-?\d{1,5}"),
    ColumnType.DOUBLE: _fails_pattern(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d{1,3})?"),
    ColumnType.DECIMAL: _fails_pattern(r"-?(\d+\.?\d*|\.\d+)"),
}

# Checks on parsable values: (column, reason, check), applied in this order. The
# bounds are `fraudlake.schema`'s, which the API validates requests with too.
_RANGES: list[tuple[str, str, Check]] = [
    ("amt", "amt has more than 2 decimals", _fails_pattern(r"-?\d*(\.\d{0,2})?")),
    *((column, bound.problem(column), _outside(bound)) for column, bound in VALUE_BOUNDS.items()),
    ("gender", "gender not M or F", _fails_pattern(r"[MF]")),
    ("trans_num", f"trans_num longer than {TRANS_NUM_MAX_LENGTH} characters", _longer_than(TRANS_NUM_MAX_LENGTH)),
    ("is_fraud", "is_fraud not 0 or 1", _fails_pattern(r"[01]")),
    ("trans_date_trans_time", TRANSACTION_TIME_PROBLEM, _before(f"{EARLIEST_TRANSACTION_TIME:{TIMESTAMP_FORMAT}}")),
    ("trans_date_trans_time", TRANSACTION_TIME_PROBLEM, _not_before(f"{LATEST_TRANSACTION_TIME:{TIMESTAMP_FORMAT}}")),
    ("dob", DOB_TOO_EARLY_PROBLEM, _before(f"{EARLIEST_DOB:{DATE_FORMAT}}")),
]
_TEXT_COLUMNS = [column for column, kind in TRANSACTION_COLUMNS.items() if kind is ColumnType.TEXT]
_SHOWN_CHARACTERS = 80  # of a value in a reason: a reason repeating a 1 MB field helps no one


def _shown(value: str) -> str:
    if len(value) <= _SHOWN_CHARACTERS:
        return repr(value)
    return f"{value[:_SHOWN_CHARACTERS]!r}… ({len(value):,} characters)"


def _row_problems(table: pa.Table) -> list[str | None]:
    """The first problem of each row, or None; columns are checked in file order."""
    reasons: list[str | None] = [None] * table.num_rows
    unflagged = np.arange(table.num_rows)

    def flag(column: str, check: Check, reason: Callable[[str], str]) -> None:
        nonlocal unflagged
        values = table.column(column).take(unflagged)
        failing = pc.fill_null(check(values), True).to_numpy(zero_copy_only=False)
        for position in np.flatnonzero(failing):
            reasons[unflagged[position]] = reason(values[int(position)].as_py())
        unflagged = unflagged[~failing]

    # Text is bounded so that a row's change event stays under Kafka's message limit.
    max_text = get_producer_settings().producer_max_text_chars
    for column, kind in TRANSACTION_COLUMNS.items():
        flag(column, lambda values: pc.equal(values, ""), lambda _, c=column: f"empty {c}")
        if kind in _PARSE:
            flag(column, _PARSE[kind], lambda v, c=column: f"unparsable {c}: {_shown(v)}")
    for column in _TEXT_COLUMNS:
        flag(column, _longer_than(max_text),
             lambda v, c=column: f"{c} longer than {max_text:,} characters (PRODUCER_MAX_TEXT_CHARS): {_shown(v)}")
    for column, reason, check in _RANGES:
        flag(column, check, lambda v, r=reason: f"{r}: {_shown(v)}")
    # Both are valid dates in ISO order by now, so comparing the text compares the dates.
    day = pc.utf8_slice_codeunits(table.column("trans_date_trans_time"), 0, 10)
    flag("dob", lambda dob: pc.greater(dob, day.take(unflagged)), lambda v: f"{DOB_AFTER_TRANSACTION_PROBLEM}: {v!r}")
    return reasons


def to_copy_csv(table: pa.Table) -> bytes:
    """The 22 columns as CSV that PostgreSQL's COPY … (FORMAT csv) reads back unchanged."""
    buffer = io.BytesIO()
    pacsv.write_csv(table.select(list(COLUMN_NAMES)), buffer,
                    pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return buffer.getvalue()
