"""Cards' recent transactions from PostgreSQL, for the per-card features.

One query per request or batch: for each card in it, the rows from
`HISTORY_WINDOW` before its earliest transaction up to its latest one, through the
(cc_num, trans_date_trans_time) index. `build_features` then takes, for each
transaction, only the rows strictly before it.
"""

from __future__ import annotations

import pandas as pd
import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from fraudlake.features import HISTORY_COLUMNS, HISTORY_WINDOW
from fraudlake.settings import ApiSettings, PostgresSettings

_QUERY = """
SELECT t.trans_num, t.cc_num, t.trans_date_trans_time, t.amt::float8
FROM unnest(%(cards)s::bigint[], %(since)s::timestamp[], %(until)s::timestamp[]) AS w(cc_num, since, until)
JOIN transactions t
  ON t.cc_num = w.cc_num AND t.trans_date_trans_time >= w.since AND t.trans_date_trans_time < w.until
"""


class HistoryUnavailable(RuntimeError):
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
        return self._query("SELECT version()")[0][0].split(",")[0]

    def _query(self, sql: str, params: dict | None = None) -> list[tuple]:
        try:
            with self.pool.connection() as conn:
                return conn.execute(sql, params).fetchall()
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise HistoryUnavailable(f"PostgreSQL unreachable: {exc}") from exc

    def fetch(self, transactions: pd.DataFrame) -> pd.DataFrame:
        """Rows of `HISTORY_COLUMNS` for the cards in `transactions`, within the lookback window."""
        bounds = transactions.groupby("cc_num", sort=False)["trans_date_trans_time"].agg(["min", "max"])
        params = {
            "cards": bounds.index.tolist(),
            "since": [t.to_pydatetime() for t in bounds["min"] - HISTORY_WINDOW],
            "until": [t.to_pydatetime() for t in bounds["max"]],
        }
        return pd.DataFrame(self._query(_QUERY, params), columns=list(HISTORY_COLUMNS))
