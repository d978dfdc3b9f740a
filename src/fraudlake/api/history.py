"""Cards' recent transactions from PostgreSQL, for the per-card features.

One query per request or batch: for each card in it, the rows from `HISTORY_WINDOW`
before its earliest transaction up to its latest one, through the
(cc_num, trans_date_trans_time) index, leaving out the request's own transactions
(rows the job already committed). `build_features` then takes, for each
transaction, only the rows strictly before it.

The rows come back packed into one bytea of big-endian (cc_num, timestamp, amount)
triples that numpy reads without a Python object per value: fetched as
tuples, the ~12,000 history rows of a 1,000-transaction batch cost more to convert
than to find.
"""

from __future__ import annotations

import numpy as np
import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from fraudlake.errors import FraudlakeError
from fraudlake.features import HISTORY_WINDOW, Columns
from fraudlake.settings import ApiSettings, PostgresSettings

_QUERY = """
SELECT string_agg(int8send(h.cc_num) || timestamp_send(h.trans_date_trans_time) || float8send(h.amt), ''::bytea)
FROM unnest(%(cards)b::bigint[], %(since)b::bigint[], %(until)b::bigint[]) AS w(cc_num, since, until)
CROSS JOIN LATERAL (
    SELECT t.trans_num, t.cc_num, t.trans_date_trans_time, t.amt::float8 AS amt
    FROM transactions t
    WHERE t.cc_num = w.cc_num
      AND t.trans_date_trans_time >= to_timestamp(w.since) AT TIME ZONE 'UTC'
      AND t.trans_date_trans_time < to_timestamp(w.until) AT TIME ZONE 'UTC'
    -- OFFSET 0 keeps this a range scan of the index per card: flattened into a join,
    -- the planner chose a hash join over the whole table, five times slower.
    OFFSET 0
) AS h
WHERE NOT EXISTS (SELECT FROM unnest(%(batch)b::text[]) AS b(trans_num) WHERE b.trans_num = h.trans_num)
"""
# timestamp_send is PostgreSQL's binary timestamp: microseconds since 2000-01-01, which
# costs the server a fifth less than computing epoch seconds with extract().
_PACKED_ROW = np.dtype([("cc_num", ">i8"), ("micros_since_2000", ">i8"), ("amt", ">f8")])
_POSTGRES_EPOCH = np.datetime64("2000-01-01T00:00:00", "us")


class HistoryUnavailable(FraudlakeError, RuntimeError):
    """PostgreSQL could not be reached for the history lookup."""


class HistoryRepository:
    def __init__(self, postgres: PostgresSettings, api: ApiSettings, connect_timeout: float = 3.0):
        self.pool = ConnectionPool(
            postgres.conninfo(), min_size=1, max_size=api.api_db_pool_size, open=False, timeout=connect_timeout,
            kwargs={"autocommit": True, "connect_timeout": max(1, int(connect_timeout))},
        )

    def open(self) -> None:
        # Not waiting: the API starts (and says so on /health) while the database is down.
        self.pool.open(wait=False)

    def close(self) -> None:
        self.pool.close()

    def ping(self) -> str:
        return self._query("SELECT version()")[0].split(",")[0]

    def _query(self, sql: str, params: dict | None = None) -> tuple:
        try:
            with self.pool.connection() as conn:
                return conn.cursor(binary=True).execute(sql, params).fetchone()
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise HistoryUnavailable(f"PostgreSQL unreachable: {exc}") from exc

    def fetch(self, transactions: Columns) -> dict[str, np.ndarray]:
        """History columns (cc_num, trans_date_trans_time, amt) for the cards in
        `transactions`, within the lookback window, without the transactions themselves."""
        seconds = np.asarray(transactions["trans_date_trans_time"], dtype="datetime64[s]").astype(np.int64)
        cards, card_of_row = np.unique(np.asarray(transactions["cc_num"], dtype=np.int64), return_inverse=True)
        earliest = np.full(len(cards), np.iinfo(np.int64).max)
        np.minimum.at(earliest, card_of_row, seconds)
        latest = np.full(len(cards), np.iinfo(np.int64).min)
        np.maximum.at(latest, card_of_row, seconds)
        params = {
            "cards": cards.tolist(),
            "since": (earliest - int(HISTORY_WINDOW.total_seconds())).tolist(),
            "until": latest.tolist(),
            "batch": np.asarray(transactions["trans_num"], dtype=object).tolist(),
        }
        (packed,) = self._query(_QUERY, params)
        rows = np.frombuffer(packed or b"", dtype=_PACKED_ROW)
        return {
            "cc_num": rows["cc_num"].astype(np.int64),
            "trans_date_trans_time": _POSTGRES_EPOCH + rows["micros_since_2000"].astype(np.int64).view("timedelta64[us]"),
            "amt": rows["amt"].astype(np.float64),
        }
