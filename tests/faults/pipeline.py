"""What the fault tests check after a crash: the whole pipeline, counted against
PostgreSQL's `transactions`, and how long it took to catch up.

Every figure is counted before anything is asserted, so a failing case still adds
its row (lost / duplicated / alerts doubled) to the fault table the suite writes.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import pyarrow as pa
from deltalake.exceptions import TableNotFoundError

from fraudlake import settings as cfg
from fraudlake.lakehouse.reader import query
from fraudlake.prediction.job import GOLD_PREDICTIONS
from fraudlake.schema import COLUMN_NAMES
from tests.conftest import REPO_ROOT
from tests.streaming.helpers import alert_statuses, alerted, slack_counts

BRONZE = ("bronze", "transactions")
SILVER = ("silver", "transactions")
SILVER_COLUMNS = (*COLUMN_NAMES, "created_at")
REPORT = REPO_ROOT / "reports" / "faults" / "faults.md"


def connect() -> psycopg.Connection:
    """A new connection each time: the PostgreSQL of the last one may have been killed."""
    return psycopg.connect(cfg.get_postgres_settings().conninfo(), autocommit=True)


def keys_since(since: datetime) -> list[str]:
    with connect() as db:
        return [row[0] for row in db.execute("SELECT trans_num FROM transactions WHERE created_at >= %s", (since,))]


def predicted(keys: list[str]) -> int:
    with connect() as db:
        return db.execute("SELECT count(*) FROM fraud_predictions WHERE trans_num = ANY(%s)", (keys,)).fetchone()[0]


def _lake(sql: str, since: datetime, **tables) -> pa.Table:
    # `created_at` is the row's commit time in PostgreSQL, carried into bronze and silver:
    # it limits the scan to the case's feed.
    utc = since.astimezone(timezone.utc).replace(tzinfo=None)
    return query(sql.format(since=f"arrow_cast('{utc.isoformat()}', 'Timestamp(Microsecond, Some(\"UTC\"))')"),
                 **tables)


def bronze_keys(since: datetime) -> pa.Table:
    return _lake("SELECT trans_num, op, kafka_partition, kafka_offset FROM b WHERE created_at >= {since}",
                 since, b=BRONZE)


def caught_up(keys: list[str], since: datetime) -> bool:
    """Every key has its prediction and its bronze row (the lag behind `keys` is zero)."""
    if predicted(keys) < len(keys):
        return False
    return set(keys) <= set(bronze_keys(since).column("trans_num").to_pylist())


@dataclass
class Tally:
    """One fault case's row of the fault table."""

    case: str
    transactions: int = 0
    lost: dict[str, int] = field(default_factory=dict)
    duplicated: dict[str, int] = field(default_factory=dict)
    alerts_expected: int = 0
    alerts_doubled: int = 0
    alerts_missing: int = 0
    recovery_s: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (any(self.lost.values()) or any(self.duplicated.values()) or self.alerts_doubled
                    or self.alerts_missing)


def count_everything(tally: Tally, keys: list[str], since: datetime, messages) -> Tally:
    """Bronze, silver, predictions, their Delta copy and Slack, each against `keys`."""
    tally.notes = []
    wanted = set(keys)
    with connect() as db:
        scored = Counter(row[0] for row in db.execute(
            "SELECT trans_num FROM fraud_predictions WHERE trans_num = ANY(%s)", (keys,)))
        probabilities = dict(db.execute(
            "SELECT trans_num, fraud_probability FROM fraud_predictions WHERE trans_num = ANY(%s)", (keys,)).fetchall())
        columns = ", ".join(f'"{c}"' for c in SILVER_COLUMNS)
        postgres = {row[COLUMN_NAMES.index("trans_num")]: dict(zip(SILVER_COLUMNS, row)) for row in db.execute(
            f"SELECT {columns} FROM transactions WHERE trans_num = ANY(%s)", (keys,))}
        expected_alerts = alerted(db, keys)
        ledger = alert_statuses(db, keys)

    bronze = bronze_keys(since)
    events = Counter((k, op) for k, op in zip(bronze.column("trans_num").to_pylist(), bronze.column("op").to_pylist())
                     if k in wanted)
    records = Counter(zip(bronze.column("kafka_partition").to_pylist(), bronze.column("kafka_offset").to_pylist()))

    silver = {row["trans_num"]: row for row in _lake(
        "SELECT " + ", ".join(f'"{c}"' for c in SILVER_COLUMNS) + " FROM s WHERE created_at >= {since}",
        since, s=SILVER).to_pylist() if row["trans_num"] in wanted}

    try:
        gold = _lake("SELECT trans_num, fraud_probability FROM g", since, g=GOLD_PREDICTIONS)
    except TableNotFoundError:  # the job's first export has not run yet
        gold = pa.table({"trans_num": pa.array([], pa.string()), "fraud_probability": pa.array([], pa.float64())})
    gold_rows = Counter(k for k in gold.column("trans_num").to_pylist() if k in wanted)
    gold_probabilities = dict(zip(gold.column("trans_num").to_pylist(), gold.column("fraud_probability").to_pylist()))

    slack = slack_counts(messages, keys)

    tally.transactions = len(keys)
    tally.lost = {
        "bronze": sum(1 for k in keys if events[(k, "c")] == 0),
        "silver": sum(1 for k in keys if silver.get(k) != postgres.get(k)),
        "predictions": sum(1 for k in keys if scored[k] == 0),
        "gold copy": sum(1 for k in keys if gold_rows[k] == 0 or gold_probabilities[k] != probabilities.get(k)),
    }
    tally.duplicated = {
        "bronze events": sum(n - 1 for n in events.values() if n > 1),
        "bronze records": sum(n - 1 for n in records.values() if n > 1),
        "predictions": sum(n - 1 for n in scored.values() if n > 1),
        "gold copy": sum(n - 1 for n in gold_rows.values() if n > 1),
    }
    tally.alerts_expected = len(expected_alerts)
    tally.alerts_doubled = sum(1 for k in expected_alerts if slack[k] > 1)
    tally.alerts_missing = sum(1 for k in expected_alerts if slack[k] == 0)
    unexpected = sum(1 for k in set(keys) - set(expected_alerts) if slack[k])
    if unexpected:
        tally.notes.append(f"{unexpected} alerts for transactions below ALERT_MIN_LEVEL")
        tally.alerts_doubled += unexpected
    if ledger.get("sent", 0) != len(expected_alerts) or set(ledger) - {"sent"}:
        tally.notes.append(f"alert ledger {dict(ledger)} for {len(expected_alerts)} alerts")
    return tally


def settle(check: Callable[[], bool], *, timeout: float, interval: float = 2.0) -> bool:
    """Poll `check` until it holds or `timeout` passes; whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()


def write_report(tallies: list[Tally], path: Path = REPORT) -> str:
    lines = [
        "# Fault table",
        "",
        "Each case streams generated transactions at a steady rate, kills one component with",
        "SIGKILL (the process and its children) part-way, brings it back as an operator",
        "would, and counts the whole pipeline against PostgreSQL's `transactions`.",
        "Recovery: seconds from the component back to every transaction committed until",
        "then predicted and in bronze.",
        "",
        "| case | transactions | lost | duplicated | alerts (doubled / missing of expected) | recovery s | notes |",
        "|---|---:|---|---|---|---:|---|",
    ]
    for t in tallies:
        lost = ", ".join(f"{k} {v}" for k, v in t.lost.items())
        dup = ", ".join(f"{k} {v}" for k, v in t.duplicated.items())
        recovery = "-" if t.recovery_s is None else f"{t.recovery_s:.1f}"
        lines.append(f"| {t.case} | {t.transactions:,} | {lost} | {dup} | "
                     f"{t.alerts_doubled} / {t.alerts_missing} of {t.alerts_expected} | {recovery} | "
                     f"{'; '.join(t.notes)} |")
    text = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return text
