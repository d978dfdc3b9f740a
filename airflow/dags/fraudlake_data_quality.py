"""Data-quality checks every five minutes, one task per check so each is seen failing
on its own in Airflow; a failing check also alerts Slack once (`quality_alerts`).
Without Airflow: `fraudlake quality check` (all) or `--only <check>`.

Trigger with `{"since": "2026-01-01T00:00:00+00:00"}` to check the transactions
committed since then instead of the last QUALITY_LOOKBACK_HOURS."""

from __future__ import annotations

from datetime import timedelta

from fraudlake_tasks import DEFAULT_ARGS, fraudlake, fraudlake_dag

CHECKS = ("silver_row_count", "silver_values", "predictions", "job_lag", "replication_slot")

with fraudlake_dag(
    "fraudlake_data_quality",
    description="PostgreSQL vs silver, a prediction for every transaction, job lag, replication slot",
    schedule=timedelta(minutes=5),
    # A failed check is not retried: the next run, minutes later, is the retry.
    default_args=DEFAULT_ARGS | {"retries": 0},
    timeout=timedelta(minutes=5),
    params={"since": ""},
    tags=["quality"],
) as dag:
    for check in CHECKS:
        fraudlake(check, f"quality check --only {check}"
                  "{% if params.since %} --since {{ params.since }}{% endif %}",
                  execution_timeout=timedelta(minutes=4))
