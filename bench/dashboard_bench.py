"""Benchmark: one refresh of the dashboard's fraud tab with a million predictions in the table.

Copies --rows transactions with their predictions (1 % predicted fraud, each with an
alert) into the PostgreSQL of the settings with COPY, spread over the last 24 hours,
so every row is inside the default DASHBOARD_WINDOW_HOURS: the worst case for the
time-window queries. Then it runs the queries of one refresh (fraudlake.dashboard.
queries, on the page's read-only connection) --repeat times and prints each
query's median and the whole refresh's median and maximum. Rows are prefixed
`bench-dash-` and deleted afterwards unless --keep.

    .venv/bin/fraudlake up --only postgres
    .venv/bin/python bench/dashboard_bench.py                 # 1,000,000 predictions

Run it against a database Debezium does not stream (a stack without `connect`, or
the test stack), or the connector will stream the million rows too.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta

import click
import numpy as np
import psycopg

from fraudlake import settings as cfg
from fraudlake.dashboard import queries
from fraudlake.schema import COLUMN_NAMES

PREFIX = "bench-dash-"
CATEGORIES = ["gas_transport", "grocery_pos", "home", "shopping_pos", "kids_pets", "shopping_net", "entertainment",
              "food_dining", "personal_care", "health_fitness", "misc_pos", "misc_net", "grocery_net", "travel"]


def _fill(conn: psycopg.Connection, rows: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    created = [now - timedelta(seconds=float(s)) for s in rng.uniform(60, 24 * 3600, rows)]
    amounts = np.round(rng.lognormal(3.5, 1.2, rows), 2)
    categories = rng.choice(CATEGORIES, rows)
    probabilities = rng.beta(0.3, 20, rows)
    fraud = rng.random(rows) < 0.01
    probabilities[fraud] = rng.uniform(0.5, 1.0, fraud.sum())
    latencies = rng.lognormal(0, 0.5, rows)
    cards = rng.integers(4_000_000_000_000_000, 4_999_999_999_999_999, rows)
    started = time.monotonic()
    with conn.cursor() as cur:
        columns = ", ".join(COLUMN_NAMES)
        with cur.copy(f"COPY transactions ({columns}, created_at) FROM STDIN") as copy:
            for i in range(rows):
                at = created[i]
                copy.write_row((at.replace(tzinfo=None), int(cards[i]), "fraud_Bench Merchant", categories[i],
                                float(amounts[i]), "Jen", "Doe", "F", "1 Main St", "Springfield", "IL", 62701,
                                39.8, -89.6, 116000, "Nurse", "1980-02-03", f"{PREFIX}{i}",
                                int(at.timestamp()) - 220_838_400, 39.9, -89.5, int(fraud[i]), at))
        with cur.copy("COPY fraud_predictions (trans_num, fraud_probability, is_fraud_predicted, risk_level, "
                      "model_version, transaction_created_at, predicted_at, top_features) FROM STDIN") as copy:
            for i in range(rows):
                level = "HIGH" if probabilities[i] >= 0.8 else "MEDIUM" if fraud[i] else "LOW"
                features = '[{"feature": "amt", "value": %s, "contribution": 1.5}]' % amounts[i] if fraud[i] else "[]"
                copy.write_row((f"{PREFIX}{i}", float(probabilities[i]), bool(fraud[i]), level, "bench",
                                created[i], created[i] + timedelta(seconds=float(latencies[i])), features))
        cur.execute("INSERT INTO fraud_alerts (trans_num, risk_level, status, created_at) "
                    "SELECT trans_num, risk_level, (ARRAY['sent', 'pending', 'failed'])[(1 + id %% 3)::int], predicted_at "
                    "FROM fraud_predictions WHERE trans_num LIKE %s AND is_fraud_predicted", (PREFIX + "%",))
    conn.commit()
    click.echo(f"copied {rows:,} transactions and predictions ({int(fraud.sum()):,} frauds) "
               f"in {time.monotonic() - started:.1f} s")
    # What autovacuum would have done by the time anyone looks: statistics and the visibility map.
    conn.autocommit = True
    for table in ("transactions", "fraud_predictions", "fraud_alerts"):
        conn.execute(f"VACUUM ANALYZE {table}")
    conn.autocommit = False


def _refresh(conn: psycopg.Connection, settings: cfg.DashboardSettings) -> dict[str, float]:
    """The fraud tab's queries, as page.fraud_view runs them; seconds each."""
    window, sample = settings.dashboard_window_hours, settings.dashboard_sample_rows
    steps = {
        "kpis": lambda: queries.kpis(conn, window),
        "predictions_per_minute": lambda: queries.predictions_per_minute(conn),
        "fraud_by_hour": lambda: queries.fraud_by_hour(conn, window),
        "fraud_by_category": lambda: queries.fraud_by_category(conn, window),
        "amounts": lambda: queries.amounts(conn, window, sample),
        "latencies": lambda: queries.latencies(conn, sample),
        "latest_alerts": lambda: queries.latest_alerts(conn, settings.dashboard_alert_rows),
    }
    seconds = {}
    for name, step in steps.items():
        started = time.perf_counter()
        step()
        seconds[name] = time.perf_counter() - started
    return seconds


@click.command()
@click.option("--rows", type=click.IntRange(1), default=1_000_000, show_default=True)
@click.option("--repeat", type=click.IntRange(1), default=5, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--keep", is_flag=True, help="Leave the bench rows in the tables.")
def main(rows: int, repeat: int, seed: int, keep: bool) -> None:
    postgres, settings = cfg.get_postgres_settings(), cfg.get_dashboard_settings()
    with psycopg.connect(postgres.conninfo()) as conn:
        present = conn.execute("SELECT count(*) FROM fraud_predictions WHERE trans_num LIKE %s",
                               (PREFIX + "%",)).fetchone()[0]
        if present != rows:
            _delete(conn)
            _fill(conn, rows, seed)
    pool = queries.connection_pool(postgres, size=1)
    try:
        with pool.connection() as conn:
            total = conn.execute("SELECT count(*) FROM fraud_predictions").fetchone()[0]
            runs = [_refresh(conn, settings) for _ in range(repeat + 1)][1:]  # the first warms the cache
    finally:
        pool.close()
    click.echo(f"one refresh of the fraud tab, {total:,} predictions in the table, {repeat} runs:")
    for name in runs[0]:
        click.echo(f"  {name:<24} median {statistics.median(run[name] for run in runs) * 1000:8.1f} ms")
    totals = [sum(run.values()) for run in runs]
    click.echo(f"  {'whole refresh':<24} median {statistics.median(totals) * 1000:8.1f} ms, "
               f"max {max(totals) * 1000:.1f} ms")
    if not keep:
        with psycopg.connect(postgres.conninfo()) as conn:
            _delete(conn)


def _delete(conn: psycopg.Connection) -> None:
    for table in ("fraud_alerts", "fraud_predictions", "transactions"):
        conn.execute(f"DELETE FROM {table} WHERE trans_num LIKE %s", (PREFIX + "%",))
    conn.commit()


if __name__ == "__main__":
    main()
