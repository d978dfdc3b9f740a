"""What the dashboard reads from PostgreSQL: one function per figure, each one query.

Every query is bounded, so a refresh costs about the same with a million
predictions as with a thousand: time filters use the indexes on
`transactions.created_at`, `fraud_predictions.predicted_at` (all rows, and predicted
frauds alone) and `fraud_alerts.created_at` (resources/debezium/postgres/10-fraudlake.sql),
and what would otherwise read every prediction (amounts, latencies) reads the
latest `sample_rows`. The card number never leaves the database unmasked.
"""

from __future__ import annotations

import pandas as pd
import psycopg
from psycopg_pool import ConnectionPool

from fraudlake.alerts.sender import counts as alert_counts
from fraudlake.risk import RiskLevel
from fraudlake.settings import PostgresSettings


def _read_only(conn: psycopg.Connection) -> None:
    # The dashboard only reads; the producer controls write through their own process.
    conn.execute("SET default_transaction_read_only = on")


def connection_pool(postgres: PostgresSettings, size: int = 2) -> ConnectionPool:
    """Read-only connections for the page (opened lazily, so the page loads while PostgreSQL is down)."""
    return ConnectionPool(postgres.conninfo(), min_size=0, max_size=size, configure=_read_only,
                          kwargs={"autocommit": True, "connect_timeout": 3}, open=True)


def _frame(conn: psycopg.Connection, query: str, params: dict | None = None) -> pd.DataFrame:
    cursor = conn.execute(query, params or {})
    return pd.DataFrame(cursor.fetchall(), columns=[column.name for column in cursor.description])


def kpis(conn: psycopg.Connection, window_hours: int) -> dict:
    """Counts today (since midnight, database time) and in the last hour; frauds, fraud rate
    and amount at risk over the last `window_hours`; the alert ledger by status."""
    params = {"hours": window_hours}
    bounds = ("WITH bounds AS (SELECT date_trunc('day', now()) AS today, now() - interval '1 hour' AS hour_ago, "
              "now() - make_interval(hours => %(hours)s) AS window_start) ")
    transactions_today, transactions_hour = conn.execute(
        bounds + "SELECT count(*) FILTER (WHERE created_at >= today), count(*) FILTER (WHERE created_at >= hour_ago) "
        "FROM transactions, bounds WHERE created_at >= least(today, hour_ago)", params).fetchone()
    predictions_today, predictions_hour, predictions_window = conn.execute(
        bounds + "SELECT count(*) FILTER (WHERE predicted_at >= today), count(*) FILTER (WHERE predicted_at >= hour_ago), "
        "count(*) FILTER (WHERE predicted_at >= window_start) "
        "FROM fraud_predictions, bounds WHERE predicted_at >= least(today, hour_ago, window_start)", params).fetchone()
    by_level = dict.fromkeys((level.value for level in RiskLevel), 0)
    amount_at_risk = 0.0
    for level, frauds, amount in conn.execute(
        bounds + "SELECT p.risk_level, count(*), coalesce(sum(t.amt), 0) FROM fraud_predictions p "
        "JOIN transactions t USING (trans_num), bounds "
        "WHERE p.is_fraud_predicted AND p.predicted_at >= window_start GROUP BY p.risk_level", params):
        by_level[level] = frauds
        amount_at_risk += float(amount)
    frauds = sum(by_level.values())
    return {
        "transactions_today": transactions_today,
        "transactions_last_hour": transactions_hour,
        "predictions_today": predictions_today,
        "predictions_last_hour": predictions_hour,
        "predictions_in_window": predictions_window,
        "frauds_in_window": frauds,
        "frauds_by_level": by_level,
        "fraud_rate": frauds / predictions_window if predictions_window else 0.0,
        "amount_at_risk": amount_at_risk,
        "alerts": alert_counts(conn),
    }


def predictions_per_minute(conn: psycopg.Connection, minutes: int = 60) -> pd.DataFrame:
    """minute, risk_level, predictions over the last `minutes` (minutes without predictions are absent)."""
    return _frame(conn, "SELECT date_trunc('minute', predicted_at) AS minute, risk_level, count(*) AS predictions "
                  "FROM fraud_predictions WHERE predicted_at >= now() - make_interval(mins => %(minutes)s) "
                  "GROUP BY 1, 2 ORDER BY 1, 2", {"minutes": minutes})


_FRAUDS_IN_WINDOW = ("FROM fraud_predictions p JOIN transactions t USING (trans_num) "
                     "WHERE p.is_fraud_predicted AND p.predicted_at >= now() - make_interval(hours => %(hours)s) ")


def fraud_by_hour(conn: psycopg.Connection, window_hours: int) -> pd.DataFrame:
    """hour (0-23, of the transaction's own time), frauds: every hour, 0 when none."""
    found = _frame(conn, "SELECT extract(hour FROM t.trans_date_trans_time)::int AS hour, count(*) AS frauds "
                   + _FRAUDS_IN_WINDOW + "GROUP BY 1", {"hours": window_hours})
    hours = pd.DataFrame({"hour": range(24)})
    return hours.merge(found, on="hour", how="left").fillna({"frauds": 0}).astype({"frauds": int})


def fraud_by_category(conn: psycopg.Connection, window_hours: int) -> pd.DataFrame:
    """category, frauds, amount; most frauds first."""
    frame = _frame(conn, "SELECT t.category, count(*) AS frauds, sum(t.amt) AS amount " + _FRAUDS_IN_WINDOW
                   + "GROUP BY 1 ORDER BY 2 DESC, 1", {"hours": window_hours})
    return frame.astype({"amount": float})


def amounts(conn: psycopg.Connection, window_hours: int, sample_rows: int) -> pd.DataFrame:
    """amt, label ('fraud' / 'legitimate'): the predicted frauds of the window and the
    latest `sample_rows` predictions judged legitimate (at most `sample_rows` of each)."""
    frame = _frame(conn, "(SELECT t.amt, 'fraud' AS label " + _FRAUDS_IN_WINDOW
                   + "ORDER BY p.predicted_at DESC LIMIT %(rows)s) UNION ALL "
                   # A scalar subquery: one primary-key lookup per sampled row (a join is
                   # planned as a scan of every transaction).
                   "(SELECT (SELECT amt FROM transactions t WHERE t.trans_num = p.trans_num), 'legitimate' "
                   "FROM fraud_predictions p WHERE NOT is_fraud_predicted ORDER BY predicted_at DESC LIMIT %(rows)s)",
                   {"hours": window_hours, "rows": sample_rows})
    return frame.astype({"amt": float})


def latencies(conn: psycopg.Connection, sample_rows: int) -> pd.Series:
    """Seconds from the transaction's commit to its prediction, of the latest `sample_rows` predictions."""
    frame = _frame(conn, "SELECT extract(epoch FROM predicted_at - transaction_created_at)::float8 AS seconds "
                   "FROM fraud_predictions WHERE transaction_created_at IS NOT NULL "
                   "ORDER BY predicted_at DESC LIMIT %(rows)s", {"rows": sample_rows})
    return frame["seconds"] if len(frame) else pd.Series([], dtype=float, name="seconds")


def latency_percentiles(seconds: pd.Series) -> dict[str, float | None]:
    """p50 and p99 of the latencies (None when there are none)."""
    if seconds.empty:
        return {"p50": None, "p99": None}
    return {"p50": float(seconds.quantile(0.5)), "p99": float(seconds.quantile(0.99))}


_MASKED_CARD = "'•••• ' || right(t.cc_num::text, 4)"


def latest_alerts(conn: psycopg.Connection, limit: int) -> pd.DataFrame:
    """The latest alert-ledger rows, newest first, with what an analyst needs to judge them."""
    frame = _frame(conn, f"SELECT a.created_at AS alerted_at, a.risk_level AS level, a.status, t.amt AS amount, "
                   f"t.merchant, t.category, {_MASKED_CARD} AS card, p.fraud_probability AS probability, "
                   "p.top_features, a.trans_num FROM fraud_alerts a "
                   "JOIN fraud_predictions p USING (trans_num) JOIN transactions t USING (trans_num) "
                   "ORDER BY a.created_at DESC, a.trans_num LIMIT %(limit)s", {"limit": limit})
    frame["top_features"] = frame["top_features"].map(describe_top_features)
    return frame.astype({"amount": float})


def describe_top_features(features: list[dict] | None, shown: int = 3) -> str:
    """`feature=value (+contribution)` for the first `shown` features, as the API ranked them."""
    return ", ".join(f"{item.get('feature')}={_number(item.get('value'))} ({item.get('contribution', 0):+.2f})"
                     for item in (features or [])[:shown])


def _number(value) -> str:
    return "?" if value is None else f"{value:,.2f}".rstrip("0").rstrip(".")


def transaction_detail(conn: psycopg.Connection, trans_num: str) -> dict | None:
    """One transaction with its prediction and alert, card masked; None if it is unknown."""
    cursor = conn.execute(
        f"SELECT t.trans_num, t.trans_date_trans_time, {_MASKED_CARD} AS card, t.merchant, t.category, t.amt, "
        "t.city, t.state, t.job, t.created_at AS committed_at, p.fraud_probability, p.is_fraud_predicted, "
        "p.risk_level, p.model_version, p.predicted_at, p.top_features, a.status AS alert_status, "
        "a.attempts AS alert_attempts, a.sent_at AS alert_sent_at, a.last_error AS alert_error "
        "FROM transactions t LEFT JOIN fraud_predictions p USING (trans_num) "
        "LEFT JOIN fraud_alerts a USING (trans_num) WHERE t.trans_num = %s", (trans_num,))
    row = cursor.fetchone()
    return dict(zip([column.name for column in cursor.description], row, strict=True)) if row else None
