"""Writing checked records to PostgreSQL: transactions once each, rejects to quarantine.

Good rows go through COPY into a temporary staging table and on with
`INSERT … ON CONFLICT (trans_num) DO NOTHING`, so a rerun of a file, or of the chunk
a kill interrupted, adds nothing twice; rejects are keyed by (source, line number)
the same way. Each `write` is one transaction: a kill leaves whole chunks or none.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import psycopg
from psycopg import sql

from fraudlake.producer.records import CheckedChunk, to_copy_csv
from fraudlake.schema import COLUMN_NAMES, PRIMARY_KEY

STAGING = "producer_staging"
_COLUMNS = sql.SQL(", ").join(map(sql.Identifier, COLUMN_NAMES))


@dataclass
class Counts:
    """What happened to the rows read: read = loaded + skipped + quarantined."""

    read: int = 0
    loaded: int = 0
    skipped: int = 0  # already present (same trans_num)
    quarantined: int = 0

    def __iadd__(self, other: Counts) -> Counts:
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))
        return self

    def summary(self) -> str:
        return (f"read {self.read:,}, loaded {self.loaded:,}, skipped as already present {self.skipped:,}, "
                f"quarantined {self.quarantined:,}")


class TransactionWriter:
    def __init__(self, conn: psycopg.Connection, source: str):
        self.conn = conn
        self.source = source
        with conn.transaction():
            conn.execute(sql.SQL(
                "CREATE TEMP TABLE IF NOT EXISTS {} ON COMMIT DELETE ROWS AS SELECT {} FROM transactions WITH NO DATA"
            ).format(sql.Identifier(STAGING), _COLUMNS))

    def write(self, chunk: CheckedChunk) -> Counts:
        """Store one chunk in one transaction."""
        with self.conn.transaction(), self.conn.cursor() as cur:
            with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(sql.Identifier(STAGING), _COLUMNS)) as copy:
                copy.write(to_copy_csv(chunk.good))
            cur.execute(sql.SQL(
                "INSERT INTO transactions ({cols}) SELECT {cols} FROM {staging} ON CONFLICT ({key}) DO NOTHING"
            ).format(cols=_COLUMNS, staging=sql.Identifier(STAGING), key=sql.Identifier(PRIMARY_KEY)))
            loaded = cur.rowcount
            cur.executemany(
                "INSERT INTO transactions_quarantine (source, line_number, raw_line, reason) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (source, line_number) DO NOTHING",
                [(self.source, r.line_number, r.raw, r.reason) for r in chunk.rejected],
            )
        good = chunk.good.num_rows
        return Counts(good + len(chunk.rejected), loaded, good - loaded, len(chunk.rejected))
