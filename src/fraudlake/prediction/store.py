"""The prediction job's PostgreSQL side: what is already done, and saving a batch.

A batch's predictions, its alert ledger rows and its refused rows are written in
one transaction, every insert `ON CONFLICT DO NOTHING`: a batch replayed after a
crash, or read again after its checkpoint was cleared, adds nothing twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import psycopg

from fraudlake.prediction.client import Refused
from fraudlake.risk import RiskLevel
from fraudlake.settings import PostgresSettings

_DONE = """
SELECT trans_num FROM fraud_predictions WHERE trans_num = ANY(%(keys)s)
UNION ALL
SELECT trans_num FROM fraud_predictions_quarantine WHERE trans_num = ANY(%(keys)s)
"""

_INSERT_PREDICTIONS = """
INSERT INTO fraud_predictions (trans_num, fraud_probability, is_fraud_predicted, risk_level, model_version,
                               transaction_created_at, source_lsn, top_features, predicted_at)
SELECT *, clock_timestamp() FROM unnest(%s::text[], %s::float8[], %s::bool[], %s::text[], %s::text[],
                                        %s::timestamptz[], %s::bigint[], %s::jsonb[])
ON CONFLICT (trans_num) DO NOTHING
"""

# Every predicted fraud at or above ALERT_MIN_LEVEL gets one ledger row; the sender
# drains them. Taken from the stored predictions, so a replay alerts what was stored.
_INSERT_ALERTS = """
INSERT INTO fraud_alerts (trans_num, risk_level, status)
SELECT trans_num, risk_level, %(status)s FROM fraud_predictions
WHERE trans_num = ANY(%(keys)s) AND is_fraud_predicted AND risk_level = ANY(%(levels)s)
ON CONFLICT (trans_num) DO NOTHING
"""

_INSERT_REFUSED = """
INSERT INTO fraud_predictions_quarantine (trans_num, payload, reason, source_lsn)
SELECT * FROM unnest(%s::text[], %s::jsonb[], %s::text[], %s::bigint[])
ON CONFLICT (trans_num) DO NOTHING
"""


@dataclass(frozen=True)
class Scored:
    """One transaction's prediction, with what the job knows of its change event."""

    prediction: dict  # the API's answer
    created_at: datetime | None  # transactions.created_at, from the event
    lsn: int | None


class PredictionStore:
    def __init__(self, postgres: PostgresSettings, alert_min_level: RiskLevel, alerts_enabled: bool):
        self.postgres = postgres
        self.alert_levels = alert_min_level.levels_from()
        self.alert_status = "pending" if alerts_enabled else "disabled"
        self._conn: psycopg.Connection | None = None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self.postgres.conninfo(), connect_timeout=5,
                                         application_name="fraudlake-prediction-job")
        return self._conn

    def already_done(self, keys: list[str]) -> set[str]:
        """The keys already predicted or refused."""
        with self._connection().transaction():
            return {row[0] for row in self._connection().execute(_DONE, {"keys": keys})}

    def save(self, scored: list[Scored], refused: list[tuple[Refused, int | None]]) -> None:
        conn = self._connection()
        with conn.transaction():
            if scored:
                p = [s.prediction for s in scored]
                conn.execute(_INSERT_PREDICTIONS, (
                    [x["trans_num"] for x in p], [x["fraud_probability"] for x in p], [x["is_fraud"] for x in p],
                    [x["risk_level"] for x in p], [x["model_version"] for x in p],
                    [s.created_at for s in scored], [s.lsn for s in scored],
                    [json.dumps(x.get("top_features") or []) for x in p]))
                conn.execute(_INSERT_ALERTS, {"status": self.alert_status, "levels": self.alert_levels,
                                              "keys": [x["trans_num"] for x in p]})
            if refused:
                conn.execute(_INSERT_REFUSED, (
                    [r.payload["trans_num"] for r, _ in refused],
                    [json.dumps(r.payload, default=str) for r, _ in refused],
                    [r.reason for r, _ in refused], [lsn for _, lsn in refused]))

    def predictions_after(self, last_id: int, limit: int) -> list[tuple]:
        """Stored predictions with an id above `last_id`, in id order (for the Delta copy)."""
        with self._connection().transaction():
            return self._connection().execute(
                "SELECT id, trans_num, fraud_probability, is_fraud_predicted, risk_level, model_version, "
                "transaction_created_at, source_lsn, predicted_at, top_features::text "
                "FROM fraud_predictions WHERE id > %s ORDER BY id LIMIT %s", (last_id, limit)).fetchall()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
