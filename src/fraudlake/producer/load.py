"""`producer load`: bulk-load a Kaggle-format file, idempotently and resumably.

Chunks are checked in this thread and written by a few connections at once: the
database's index upkeep, not parsing, is what limits a bulk load, and it scales
with connections. Each chunk commits on its own, so a kill leaves whole chunks;
a rerun reads the file again from the top and skips what is already present.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from os import PathLike

import psycopg
from tqdm import tqdm

from fraudlake.producer.db import Counts, TransactionWriter
from fraudlake.producer.records import CheckedChunk, KaggleFile
from fraudlake.settings import get_producer_settings


class _WriterPerThread:
    """One connection and staging table per worker thread."""

    def __init__(self, conninfo: str, source: str):
        self.conninfo = conninfo
        self.source = source
        self.local = threading.local()
        self.connections: list[psycopg.Connection] = []
        self.lock = threading.Lock()

    def write(self, chunk: CheckedChunk) -> Counts:
        if not hasattr(self.local, "writer"):
            conn = psycopg.connect(self.conninfo, autocommit=True)
            with self.lock:
                self.connections.append(conn)
            self.local.writer = TransactionWriter(conn, self.source)
        return self.local.writer.write(chunk)

    def close(self) -> None:
        for conn in self.connections:
            conn.close()


def load_file(
    conninfo: str,
    path: str | PathLike,
    *,
    chunk_rows: int | None = None,
    connections: int | None = None,
    offset: int = 0,
    limit: int | None = None,
    progress: bool = True,
    on_progress: Callable[[Counts, float], None] | None = None,
) -> Counts:
    """Load the data rows after `offset` (at most `limit`); chunk size and connections default to the settings.

    `on_progress` is called with the counts so far and the seconds spent after each committed chunk.
    """
    settings = get_producer_settings()
    chunk_rows = chunk_rows or settings.producer_copy_batch_rows
    connections = connections or settings.producer_load_connections
    source = KaggleFile(path)  # a wrong header stops here, before anything is loaded
    total = max(0, source.data_rows() - offset)
    counts = Counts()
    start = time.monotonic()
    writers = _WriterPerThread(conninfo, source.source)
    in_flight: deque[Future[Counts]] = deque()

    def collect(future: Future[Counts]) -> None:
        nonlocal counts
        done = future.result()
        counts += done
        bar.update(done.read)
        bar.set_postfix(loaded=counts.loaded, skipped=counts.skipped, quarantined=counts.quarantined)
        if on_progress is not None:
            on_progress(counts, time.monotonic() - start)

    with (
        tqdm(total=total if limit is None else min(limit, total), unit=" rows", unit_scale=True,
             disable=not progress, desc="load") as bar,
        ThreadPoolExecutor(connections, thread_name_prefix="load") as pool,
    ):
        try:
            for chunk in source.chunks(chunk_rows, offset, limit):
                in_flight.append(pool.submit(writers.write, chunk))
                while len(in_flight) > connections:  # bounds memory to a few chunks
                    collect(in_flight.popleft())
            while in_flight:
                collect(in_flight.popleft())
        finally:
            for future in in_flight:
                future.cancel()
            pool.shutdown(wait=True)
            writers.close()
    return counts
