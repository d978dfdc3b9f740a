"""`producer stream`: insert rows at a steady rate in small transactions, for CDC to see live.

The pace is kept against the clock from the start (rows due = elapsed × rate), so a
slow commit is caught up on the next tick instead of lowering the rate. Rows whose
`trans_num` is already in the table are dropped before pacing, so a rerun resumes
where the last run stopped instead of replaying it.
"""

from __future__ import annotations

import io
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import count as counter

import pandas as pd
import psycopg
from tqdm import tqdm

from fraudlake.producer.db import Counts, TransactionWriter
from fraudlake.producer.generator import generate, kaggle_unix_time, write_kaggle_csv
from fraudlake.producer.records import CheckedChunk, Record, Rejected, check_lines
from fraudlake.schema import COLUMN_NAMES, TIMESTAMP_FORMAT

LOOKUP_ROWS = 1_000  # rows read, checked and looked up in the table at a time
_TIME = COLUMN_NAMES.index("trans_date_trans_time")
_UNIX_TIME = COLUMN_NAMES.index("unix_time")
_TRANS_NUM = COLUMN_NAMES.index("trans_num")


@dataclass
class Pace:
    tps: float
    commits_per_second: int
    duration_s: float | None = None
    max_rows: int | None = None  # rows streamed (inserted or quarantined) before stopping


def generated_chunks(seed: int) -> Iterator[CheckedChunk]:
    """An endless, reproducible feed: block k is `generate(LOOKUP_ROWS, seed=[seed, k])`."""
    for block in counter():
        text = io.StringIO()
        write_kaggle_csv(generate(LOOKUP_ROWS, seed=[seed, block]), text)
        lines = text.getvalue().splitlines()[1:]
        yield check_lines([(number, line, b"") for number, line in enumerate(lines, start=2)], has_index=True)


class _Feed:
    """Checked rows from a source, minus those already in the table."""

    def __init__(self, conn: psycopg.Connection, chunks: Iterator[CheckedChunk]):
        self.conn = conn
        self.chunks = chunks
        self.good: deque[Record] = deque()
        self.rejected: list[Rejected] = []
        self.skipped = 0
        self.exhausted = False

    def take(self, rows: int) -> tuple[CheckedChunk, int]:
        """Up to `rows` new rows, the rejects met on the way, and how many were skipped."""
        while len(self.good) < rows and not self.exhausted:
            self._read_chunk()
        batch = CheckedChunk([self.good.popleft() for _ in range(min(rows, len(self.good)))], self.rejected)
        skipped, self.rejected, self.skipped = self.skipped, [], 0
        return batch, skipped

    def _read_chunk(self) -> None:
        chunk = next(self.chunks, None)
        if chunk is None:
            self.exhausted = True
            return
        present = {row[0] for row in self.conn.execute(
            "SELECT trans_num FROM transactions WHERE trans_num = ANY(%s)",
            ([r.fields[_TRANS_NUM] for r in chunk.good],),
        )}
        fresh = [r for r in chunk.good if r.fields[_TRANS_NUM] not in present]
        self.skipped += len(chunk.good) - len(fresh)
        self.good.extend(fresh)
        self.rejected.extend(chunk.rejected)


def _stamp_now(batch: CheckedChunk) -> None:
    """Give the rows the current time (and the matching Kaggle unix_time); trans_num stays."""
    now = datetime.now().replace(microsecond=0)
    unix_time = str(int(kaggle_unix_time(pd.Series([pd.Timestamp(now)]))[0]))
    for record in batch.good:
        record.fields[_TIME] = now.strftime(TIMESTAMP_FORMAT)
        record.fields[_UNIX_TIME] = unix_time


def stream_rows(
    conninfo: str,
    chunks: Iterator[CheckedChunk],
    source: str,
    pace: Pace,
    *,
    keep_times: bool = False,
    progress: bool = True,
) -> tuple[Counts, float]:
    """Stream until the source ends, the duration or row count is reached, or Ctrl-C.

    Returns the counts and the seconds spent.
    """
    counts = Counts()
    start = time.monotonic()
    with (
        psycopg.connect(conninfo, autocommit=True) as conn,
        tqdm(total=pace.max_rows, unit=" rows", disable=not progress, desc="stream") as bar,
    ):
        writer = TransactionWriter(conn, source)
        feed = _Feed(conn, chunks)
        try:
            for tick in counter(1):
                time.sleep(max(0.0, start + tick / pace.commits_per_second - time.monotonic()))
                elapsed = time.monotonic() - start
                if pace.duration_s is not None:
                    elapsed = min(elapsed, pace.duration_s)
                due = int(elapsed * pace.tps) - (counts.loaded + counts.quarantined)
                if pace.max_rows is not None:
                    due = min(due, pace.max_rows - (counts.loaded + counts.quarantined))
                batch, skipped = feed.take(max(0, due))
                if not keep_times:
                    _stamp_now(batch)
                done = writer.write(batch)
                done.read += skipped
                done.skipped += skipped
                counts += done
                bar.update(done.loaded + done.quarantined)
                if _finished(pace, counts, feed, elapsed):
                    break
        except KeyboardInterrupt:
            pass  # Ctrl-C ends the stream; what was committed is counted and reported
    return counts, time.monotonic() - start


def _finished(pace: Pace, counts: Counts, feed: _Feed, elapsed: float) -> bool:
    streamed = counts.loaded + counts.quarantined
    return (
        (feed.exhausted and not feed.good)
        or (pace.duration_s is not None and elapsed >= pace.duration_s)
        or (pace.max_rows is not None and streamed >= pace.max_rows)
    )
