"""`producer stream`: insert rows at a steady rate in small transactions, for CDC to see live.

The pace is kept against the clock from the start (rows due = elapsed × rate), so a
slow commit is caught up on the next tick instead of lowering the rate. Rows whose
`trans_num` is already in the table are dropped before pacing, so a rerun resumes
where the last run stopped instead of replaying it. A connection lost mid-stream
(PostgreSQL restarted or killed) is opened again, and the stream goes on without
sending a row twice or leaving one out.
"""

from __future__ import annotations

import io
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from itertools import count as counter

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from fraudlake.producer.db import Counts, TransactionWriter
from fraudlake.producer.generator import generate, kaggle_unix_time, write_kaggle_csv
from fraudlake.producer.records import GOOD_SCHEMA, CheckedChunk, Rejected, check_block
from fraudlake.schema import TIMESTAMP_FORMAT

LOOKUP_ROWS = 1_000  # rows read, checked and looked up in the table at a time


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
        lines = text.getvalue().encode().splitlines(keepends=True)[1:]
        yield check_block(2, lines, has_index=True)


class _Feed:
    """Checked rows from a source, minus those already in the table."""

    def __init__(self, conn: psycopg.Connection, chunks: Iterator[CheckedChunk]):
        self.conn = conn
        self.chunks = chunks
        self.good: pa.Table = GOOD_SCHEMA.empty_table()
        self.rejected: list[Rejected] = []
        self.skipped = 0
        self.exhausted = False
        self._unread: CheckedChunk | None = None  # taken from `chunks`, not yet looked up

    def take(self, rows: int) -> tuple[CheckedChunk, int]:
        """Up to `rows` new rows, the rejects met on the way, and how many were skipped."""
        while self.good.num_rows < rows and not self.exhausted:
            self._read_chunk()
        batch = CheckedChunk(self.good.slice(0, rows), self.rejected)
        self.good = self.good.slice(rows)
        skipped, self.rejected, self.skipped = self.skipped, [], 0
        return batch, skipped

    def _read_chunk(self) -> None:
        # Kept until its lookup has succeeded, so a connection lost during the lookup
        # does not lose the chunk.
        chunk = self._unread = self._unread or next(self.chunks, None)
        if chunk is None:
            self.exhausted = True
            return
        fresh, _ = _absent_rows(self.conn, chunk.good)
        self.skipped += chunk.good.num_rows - fresh.num_rows
        self.good = pa.concat_tables([self.good, fresh])
        self.rejected.extend(chunk.rejected)
        self._unread = None


def _absent_rows(conn: psycopg.Connection, rows: pa.Table) -> tuple[pa.Table, int]:
    """The rows whose trans_num is not in `transactions`, and how many of their keys are."""
    keys = rows.column("trans_num")
    present = [row[0] for row in conn.execute(
        "SELECT trans_num FROM transactions WHERE trans_num = ANY(%s)", (keys.to_pylist(),))]
    return rows.filter(pc.invert(pc.is_in(keys, pa.array(present, pa.string())))), len(present)


def _stamp_now(batch: CheckedChunk) -> CheckedChunk:
    """The rows at the current time (and the matching Kaggle unix_time); trans_num stays."""
    now = pd.Timestamp(datetime.now().replace(microsecond=0))
    rows = batch.good.num_rows
    good = batch.good
    for column, value in (("trans_date_trans_time", now.strftime(TIMESTAMP_FORMAT)),
                          ("unix_time", str(int(kaggle_unix_time(pd.Series([now]))[0])))):
        good = good.set_column(good.schema.get_field_index(column), column, pa.array([value] * rows, pa.string()))
    return CheckedChunk(good, batch.rejected)


def stream_rows(
    conninfo: str,
    chunks: Iterator[CheckedChunk],
    source: str,
    pace: Pace,
    *,
    keep_times: bool = False,
    progress: bool = True,
    reconnect_seconds: float = 0.0,
    on_progress: Callable[[Counts, float], None] | None = None,
) -> tuple[Counts, float]:
    """Stream until the source ends, the duration or row count is reached, or Ctrl-C.

    A lost connection is opened again for up to `reconnect_seconds`. `on_progress` is
    called with the counts so far and the seconds spent after each commit. Returns the
    counts and the seconds spent.
    """
    counts = Counts()
    start = time.monotonic()
    with (
        _ctrl_c_requests_stop() as stop,
        _Session(conninfo, source, chunks, reconnect_seconds, stop) as session,
        tqdm(total=pace.max_rows, unit=" rows", disable=not progress, desc="stream") as bar,
    ):
        for tick in counter(1):
            if stop.wait(max(0.0, start + tick / pace.commits_per_second - time.monotonic())):
                break
            elapsed = time.monotonic() - start
            if pace.duration_s is not None:
                elapsed = min(elapsed, pace.duration_s)
            batch, skipped = session.take(_due(pace, counts, elapsed))
            done = session.write(batch if keep_times else _stamp_now(batch))
            done.read += skipped
            done.skipped += skipped
            counts += done
            bar.update(done.loaded + done.quarantined)
            if on_progress is not None:
                on_progress(counts, time.monotonic() - start)
            if stop.is_set() or _finished(pace, counts, session.feed, elapsed):
                break
    return counts, time.monotonic() - start


class _Session:
    """The stream's connection, writer and feed; a lost connection is opened again."""

    def __init__(self, conninfo: str, source: str, chunks: Iterator[CheckedChunk], reconnect_seconds: float,
                 stop: threading.Event):
        self.conninfo = conninfo
        self.source = source
        self.reconnect_seconds = reconnect_seconds
        self.stop = stop
        self.conn = psycopg.connect(conninfo, autocommit=True)
        self.writer = TransactionWriter(self.conn, source)
        self.feed = _Feed(self.conn, chunks)

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc) -> None:
        self.conn.close()

    def take(self, rows: int) -> tuple[CheckedChunk, int]:
        while True:
            try:
                return self.feed.take(rows)
            except psycopg.OperationalError as lost:
                self._reconnect(lost)

    def write(self, batch: CheckedChunk) -> Counts:
        landed = 0
        while True:
            try:
                done = self.writer.write(batch)
                done.loaded += landed
                return done
            except psycopg.OperationalError as lost:
                self._reconnect(lost)
                # The lost commit may have landed: its rows were absent when taken, so
                # those present now are ours, written once; only the rest is sent again.
                unsent, present = _absent_rows(self.conn, batch.good)
                landed += present
                batch = CheckedChunk(unsent, batch.rejected)

    def _reconnect(self, lost: psycopg.OperationalError) -> None:
        deadline = time.monotonic() + self.reconnect_seconds
        delay = 0.5
        while True:
            if time.monotonic() + delay > deadline or self.stop.is_set():
                raise lost
            print(f"stream: connection to PostgreSQL lost ({str(lost).strip().splitlines()[0]}); "
                  f"retrying in {delay:.1f} s", file=sys.stderr, flush=True)
            self.stop.wait(delay)
            delay = min(delay * 2, 5.0)
            try:
                conn = psycopg.connect(self.conninfo, autocommit=True)
            except psycopg.OperationalError as again:
                lost = again
                continue
            self.conn.close()
            self.conn = self.feed.conn = conn
            self.writer = TransactionWriter(conn, self.source)
            return


@contextmanager
def _ctrl_c_requests_stop() -> Iterator[threading.Event]:
    """Ctrl-C sets the event instead of raising KeyboardInterrupt, so the stream stops
    between commits: an interrupt raised inside a commit could leave the connection
    mid-transaction and the row counts short of what was committed."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop  # signal handlers belong to the main thread; the caller stops us there
        return
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def _streamed(counts: Counts) -> int:
    return counts.loaded + counts.quarantined


def _due(pace: Pace, counts: Counts, elapsed: float) -> int:
    due = int(elapsed * pace.tps) - _streamed(counts)
    if pace.max_rows is not None:
        due = min(due, pace.max_rows - _streamed(counts))
    return max(0, due)


def _finished(pace: Pace, counts: Counts, feed: _Feed, elapsed: float) -> bool:
    return (
        (feed.exhausted and not feed.good.num_rows)
        or (pace.duration_s is not None and elapsed >= pace.duration_s)
        or (pace.max_rows is not None and _streamed(counts) >= pace.max_rows)
    )
