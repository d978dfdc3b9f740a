"""`producer load`: bulk-load a Kaggle-format file, idempotently and resumably.

A rerun after a kill reads the file again from the top; the chunks committed before
the kill are skipped as already present, so nothing is loaded twice.
"""

from __future__ import annotations

from os import PathLike

import psycopg
from tqdm import tqdm

from fraudlake.producer.db import Counts, TransactionWriter
from fraudlake.producer.records import KaggleFile


def load_file(
    conninfo: str,
    path: str | PathLike,
    *,
    chunk_rows: int,
    offset: int = 0,
    limit: int | None = None,
    progress: bool = True,
) -> Counts:
    source = KaggleFile(path)  # a wrong header stops here, before anything is loaded
    total = max(0, source.data_rows() - offset)
    counts = Counts()
    with (
        psycopg.connect(conninfo, autocommit=True) as conn,
        tqdm(total=total if limit is None else min(limit, total), unit=" rows", unit_scale=True,
             disable=not progress, desc="load") as bar,
    ):
        writer = TransactionWriter(conn, source.source)
        for chunk in source.chunks(chunk_rows, offset, limit):
            done = writer.write(chunk)
            counts += done
            bar.update(done.read)
            bar.set_postfix(loaded=counts.loaded, skipped=counts.skipped, quarantined=counts.quarantined)
    return counts
