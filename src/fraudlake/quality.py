"""Data-quality checks of the running pipeline, and their Slack alerts.

`fraudlake quality check` (the Airflow DAG `fraudlake_quality` runs it every few
minutes) checks that

- silver holds as many transactions as PostgreSQL for the checked window, with the
  same values for a random sample of them;
- every transaction committed more than QUALITY_GRACE_SECONDS ago has a prediction
  (or was quarantined by the prediction job, with its reason);
- both streaming jobs are running and no query is more than QUALITY_MAX_LAG_RECORDS
  behind the Kafka topic;
- the Debezium replication slot holds back less than QUALITY_MAX_SLOT_WAL_MB of WAL.

The window is the transactions committed in the last QUALITY_LOOKBACK_HOURS (or
since `--since`) and before the grace period, measured on PostgreSQL's clock.

A failing check is alerted to the Slack channel of the fraud alerts, through the
alert sender's webhook client, and recorded in the `quality_alerts` ledger: one
alert when a check starts failing, none while it keeps failing, and a retry on the
next run if Slack did not take it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
import psycopg

from fraudlake import settings as cfg
from fraudlake.schema import COLUMN_NAMES

SILVER = ("silver", "transactions")
JOBS = ("lakehouse", "prediction")
SHOWN_KEYS = 5


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime


def _window(conn: psycopg.Connection, since: datetime | None) -> Window:
    quality = cfg.get_quality_settings()
    now = conn.execute("SELECT now()").fetchone()[0]
    return Window(since or now - timedelta(hours=quality.quality_lookback_hours),
                  now - timedelta(seconds=quality.quality_grace_seconds))


def _sql_literal(value: datetime) -> str:
    return "'" + value.isoformat() + "'"


def _silver_where(window: Window) -> str:
    return f"created_at >= {_sql_literal(window.since)} AND created_at < {_sql_literal(window.until)}"


def check_silver_counts(conn: psycopg.Connection, window: Window) -> CheckResult:
    from fraudlake.lakehouse.reader import query

    postgres = conn.execute("SELECT count(*) FROM transactions WHERE created_at >= %s AND created_at < %s",
                            (window.since, window.until)).fetchone()[0]
    silver = query(f"SELECT count(*) AS n FROM s WHERE {_silver_where(window)}", s=SILVER).column("n")[0].as_py()
    return CheckResult("silver_row_count", postgres == silver, f"PostgreSQL {postgres:,}, silver {silver:,}")


def check_silver_values(conn: psycopg.Connection, window: Window) -> CheckResult:
    from fraudlake.lakehouse.reader import query

    columns = ", ".join(f'"{c}"' for c in COLUMN_NAMES)
    sample = {row[COLUMN_NAMES.index("trans_num")]: dict(zip(COLUMN_NAMES, row)) for row in conn.execute(
        f"SELECT {columns} FROM transactions WHERE created_at >= %s AND created_at < %s ORDER BY random() LIMIT %s",
        (window.since, window.until, cfg.get_quality_settings().quality_sample_rows))}
    if not sample:
        return CheckResult("silver_values", True, "no transactions in the window")
    keys = ", ".join("'" + key.replace("'", "''") + "'" for key in sample)
    silver = {row["trans_num"]: row for row in query(
        f"SELECT {columns} FROM s WHERE trans_num IN ({keys})", s=SILVER).to_pylist()}
    differing = [key for key, row in sample.items() if silver.get(key) != row]
    detail = f"{len(sample) - len(differing)} of {len(sample)} sampled transactions equal in silver"
    if differing:
        detail += "; differing or missing: " + ", ".join(differing[:SHOWN_KEYS])
    return CheckResult("silver_values", not differing, detail)


def check_predictions(conn: psycopg.Connection, window: Window) -> CheckResult:
    missing, keys = conn.execute(
        """SELECT count(*), (array_agg(t.trans_num ORDER BY t.created_at))[1:%s] FROM transactions t
           WHERE t.created_at >= %s AND t.created_at < %s
             AND NOT EXISTS (SELECT FROM fraud_predictions p WHERE p.trans_num = t.trans_num)
             AND NOT EXISTS (SELECT FROM fraud_predictions_quarantine q WHERE q.trans_num = t.trans_num)""",
        (SHOWN_KEYS, window.since, window.until)).fetchone()
    grace = cfg.get_quality_settings().quality_grace_seconds
    if not missing:
        return CheckResult("predictions", True, f"every transaction older than {grace:.0f} s has a prediction")
    return CheckResult("predictions", False, f"{missing:,} transactions older than {grace:.0f} s have no prediction, "
                       f"e.g. {', '.join(keys)}")


def check_job_lag(conn: psycopg.Connection, window: Window) -> CheckResult:
    from fraudlake.stack.kafka import topic_end_offsets
    from fraudlake.streaming.progress import read_progress

    quality = cfg.get_quality_settings()
    end_offsets = topic_end_offsets(cfg.get_kafka_settings(), timeout=10)
    stale_before = conn.execute("SELECT now()").fetchone()[0] - timedelta(seconds=quality.quality_max_progress_age_seconds)
    problems, lags = [], []
    for job in JOBS:
        queries = read_progress(cfg.get_postgres_settings(), job)
        running = [q for q in queries if q.state == "running" and q.updated_at >= stale_before]
        if not running:
            problems.append(f"{job} job not running (no progress for {quality.quality_max_progress_age_seconds:.0f} s)")
            continue
        for query in running:
            lag = query.lag(end_offsets)
            if lag is None:
                continue  # a query reading Delta, not Kafka (silver)
            lags.append(f"{job}/{query.query} {lag:,}")
            if lag > quality.quality_max_lag_records:
                problems.append(f"{job}/{query.query} is {lag:,} records behind (limit {quality.quality_max_lag_records:,})")
    return CheckResult("job_lag", not problems, "; ".join(problems) if problems else "lag " + ", ".join(lags))


def check_replication_slot(conn: psycopg.Connection, window: Window) -> CheckResult:
    slot = cfg.get_postgres_settings().postgres_slot
    row = conn.execute("SELECT active, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) FROM pg_replication_slots "
                       "WHERE slot_name = %s", (slot,)).fetchone()
    if row is None:
        return CheckResult("replication_slot", False, f"replication slot {slot} does not exist")
    active, retained = row
    mib = float(retained or 0) / 2**20
    limit = cfg.get_quality_settings().quality_max_slot_wal_mb
    return CheckResult("replication_slot", mib <= limit,
                       f"{slot} {'active' if active else 'inactive'}, holds {mib:,.1f} MiB of WAL (limit {limit:,.0f})")


CHECKS: dict[str, Callable[[psycopg.Connection, Window], CheckResult]] = {
    "silver_row_count": check_silver_counts,
    "silver_values": check_silver_values,
    "predictions": check_predictions,
    "job_lag": check_job_lag,
    "replication_slot": check_replication_slot,
}


def run_checks(conn: psycopg.Connection, since: datetime | None = None, only: list[str] | None = None) -> list[CheckResult]:
    """Every check (or those named); a check that cannot run (MinIO down, no silver) fails with the reason."""
    window = _window(conn, since)
    results = []
    for name in only or CHECKS:
        try:
            results.append(CHECKS[name](conn, window))
        except Exception as exc:  # noqa: BLE001 - an unreadable source is a failed check, reported as one
            results.append(CheckResult(name, False, f"could not check: {type(exc).__name__}: {str(exc)[:300]}"))
    return results


_UPSERT = """
INSERT INTO quality_alerts (check_name, status, detail, failing_since, checked_at)
VALUES (%(name)s, %(status)s, %(detail)s, CASE WHEN %(status)s = 'failing' THEN now() END, now())
ON CONFLICT (check_name) DO UPDATE SET
    status = EXCLUDED.status, detail = EXCLUDED.detail, checked_at = now(),
    failing_since = CASE WHEN EXCLUDED.status = 'ok' THEN NULL
                         ELSE COALESCE(quality_alerts.failing_since, now()) END,
    alerted_at = CASE WHEN EXCLUDED.status = 'ok' THEN NULL ELSE quality_alerts.alerted_at END
RETURNING alerted_at IS NULL AND status = 'failing'
"""


def message(result: CheckResult) -> dict:
    text = f":warning: fraudlake data-quality check failed: {result.name}"
    return {"text": f"{text}: {result.detail}", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": f"Data-quality check failed: {result.name}"[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": result.detail[:2900]}},
    ]}


def record_and_alert(conn: psycopg.Connection, results: list[CheckResult]) -> int:
    """Update the ledger; alert Slack once per check that started failing (or whose
    alert Slack has not taken yet). Returns the alerts Slack took."""
    from fraudlake.alerts.sender import LAST_ERROR_CHARS, AlertSender

    sender = AlertSender(cfg.get_postgres_settings(), cfg.get_alert_settings())
    sent = 0
    for result in results:
        with conn.transaction():
            (due,) = conn.execute(_UPSERT, {"name": result.name, "status": "ok" if result.ok else "failing",
                                            "detail": result.detail}).fetchone()
            if not due:
                continue
            if not sender.enabled:
                conn.execute("UPDATE quality_alerts SET last_error = 'SLACK_WEBHOOK_URL is empty' WHERE check_name = %s",
                             (result.name,))
                continue
            ok, error = sender.post(message(result))
            conn.execute("UPDATE quality_alerts SET alerted_at = CASE WHEN %s THEN now() END, last_error = %s "
                         "WHERE check_name = %s", (ok, (error or "")[:LAST_ERROR_CHARS] or None, result.name))
            sent += ok
    return sent


@click.group("quality")
def quality() -> None:
    """Data-quality checks of the pipeline (PostgreSQL vs silver, predictions, lag, replication slot)."""


@quality.command("check")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"]),
              help="Check transactions committed since this time (default: the last QUALITY_LOOKBACK_HOURS).")
@click.option("--only", help=f"Comma-separated checks to run: {','.join(CHECKS)} (default: all).")
def check_command(since: datetime | None, only: str | None) -> None:
    """Run the checks, alert Slack on a newly failing one; exit 1 if any fails."""
    names = only.split(",") if only else None
    unknown = set(names or []) - set(CHECKS)
    if unknown:
        raise click.UsageError(f"unknown checks {', '.join(sorted(unknown))}; known: {', '.join(CHECKS)}")
    with psycopg.connect(cfg.get_postgres_settings().conninfo(), autocommit=True, connect_timeout=10) as conn:
        results = run_checks(conn, since, names)
        alerted = record_and_alert(conn, results)
    for result in results:
        click.echo(f"{'ok    ' if result.ok else 'FAILED'} {result.name}: {result.detail}")
    failed = [result.name for result in results if not result.ok]
    if failed:
        click.echo(f"{len(failed)} check(s) failed: {', '.join(failed)}; {alerted} new alert(s) sent to Slack", err=True)
        sys.exit(1)
