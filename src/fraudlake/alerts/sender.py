"""The alert sender: drains the `fraud_alerts` ledger to a Slack incoming webhook.

The prediction job inserts a `pending` ledger row per alerted transaction in the same
PostgreSQL transaction as its prediction (a transactional outbox), and goes on
scoring; this sender runs in a process of its own (fraudlake.alerts.service), so
Slack's one-message-a-second limit never holds up predictions and a crash of the job
can never fall between a message and its ledger row.

Each message is one short PostgreSQL transaction: claim its rows (`FOR UPDATE SKIP
LOCKED`), mark them sent, post, commit; a refusal rolls the mark back to a savepoint
and records why instead. Delivery is at-least-once with exactly one window: a crash
of the sender's own process (or a lost connection) after Slack accepted a message and
before that COMMIT leaves its rows pending, and that one message is sent again after
a restart. The rows are marked before the post so that the window is the COMMIT's
round trip alone, not an UPDATE's as well. A webhook has no idempotency key and
cannot be asked what it received, so the window cannot be closed from this side; it
is kept at-least-once because a lost fraud alert costs more than a repeated one.
Nothing else is ever sent twice.

The webhook URL is a secret: it is never logged, nor written to `last_error`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg.rows import class_row
from slack_sdk.http_retry import default_retry_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from fraudlake.alerts.messages import MAX_DIGEST_ALERTS, Alert, alert_message, digest_message
from fraudlake.settings import AlertSettings, PostgresSettings

log = logging.getLogger(__name__)

# slack-sdk logs the request URL (the secret) at DEBUG and INFO, and exception texts
# that may hold it at ERROR; its own logger is silenced and this module logs outcomes.
_slack_sdk_log = logging.getLogger(f"{__name__}.slack_sdk")
_slack_sdk_log.setLevel(logging.CRITICAL + 1)

# One 429 is waited out (Retry-After) within the send; a second one ends the round and
# `run` waits, interruptibly and without holding row locks. Neither counts as an attempt.
# One quick retry of a 500/503 absorbs a blip without spending an attempt.
RATE_LIMIT_RETRIES = 1
SERVER_ERROR_RETRIES = 1
# After a failed send the next one waits 2, 4, 8 … s (at most this), so an outage of
# Slack does not spend every alert's attempts within seconds.
MAX_BACKOFF_SECONDS = 60.0
# Wait before reconnecting to an unreachable PostgreSQL.
DB_RETRY_SECONDS = 2.0
APPLICATION_NAME = "fraudlake-alert-sender"
STATUSES = ("pending", "sent", "failed", "disabled")
LAST_ERROR_CHARS = 500

_PENDING = "SELECT count(*) FROM fraud_alerts WHERE status = 'pending'"
_CLAIM = """
SELECT a.trans_num, a.risk_level, p.fraud_probability, t.amt, t.merchant, t.category,
       t.cc_num, t.trans_date_trans_time, p.top_features
FROM fraud_alerts a
JOIN fraud_predictions p ON p.trans_num = a.trans_num
LEFT JOIN transactions t ON t.trans_num = a.trans_num
WHERE a.status = 'pending'
ORDER BY CASE a.risk_level WHEN 'HIGH' THEN 0 WHEN 'MEDIUM' THEN 1 ELSE 2 END, a.created_at, a.trans_num
LIMIT %s
FOR UPDATE OF a SKIP LOCKED
"""
_SENT = "UPDATE fraud_alerts SET status = 'sent', sent_at = now(), attempts = attempts + 1 WHERE trans_num = ANY(%s)"
_FAILED = """
UPDATE fraud_alerts
SET attempts = attempts + 1, last_error = %s,
    status = CASE WHEN attempts + 1 >= %s THEN 'failed' ELSE 'pending' END
WHERE trans_num = ANY(%s)
"""
_RATE_LIMITED = "UPDATE fraud_alerts SET last_error = %s WHERE trans_num = ANY(%s)"


@dataclass(frozen=True)
class _Answer:
    """What became of one message: taken, rate limited (Retry-After s), or failed."""

    ok: bool
    error: str | None = None
    retry_after: float | None = None


class AlertSender:
    """Sends pending alerts one message each, or as digests when a backlog builds up."""

    def __init__(self, postgres: PostgresSettings, alerts: AlertSettings):
        self._postgres = postgres
        self._settings = alerts
        self._url = alerts.slack_webhook_url.get_secret_value().strip() if alerts.slack_webhook_url else ""
        self._webhook = (
            WebhookClient(
                self._url,
                timeout=alerts.slack_timeout_seconds,
                logger=_slack_sdk_log,
                # Passing handlers replaces the default list: keep its connection-error one.
                retry_handlers=[
                    *default_retry_handlers(),
                    RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
                    ServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES),
                ],
            )
            if self._url
            else None
        )
        self._conn: psycopg.Connection | None = None
        self._failures = 0
        # Set by drain_once when Slack refused a message: how long `run` waits before the next round.
        self.pause_seconds = 0.0

    @property
    def enabled(self) -> bool:
        return self._webhook is not None

    def drain_once(self, stop: threading.Event | None = None) -> int:
        """Send what is pending, HIGH first then oldest first, until nothing is (or `stop`
        is set, or Slack refuses a message); return how many alerts were marked sent.

        While at most `alert_digest_threshold` alerts are pending each gets its own
        message; above it they are folded into digests of `alert_digest_size`. Each
        message's ledger update is made before the post and committed right after Slack's
        answer: a crash in between is the one at-least-once window (see the module docstring).
        """
        self.pause_seconds = 0.0
        if self._webhook is None:
            return 0
        conn = self._connection()
        sent = 0
        while stop is None or not stop.is_set():
            with conn.transaction():
                pending = conn.execute(_PENDING).fetchone()[0]
                digest = pending > self._settings.alert_digest_threshold
                limit = min(self._settings.alert_digest_size, MAX_DIGEST_ALERTS) if digest else 1
                alerts = conn.cursor(row_factory=class_row(Alert)).execute(_CLAIM, (limit,)).fetchall()
                if not alerts:
                    return sent
                message = digest_message(alerts, pending - len(alerts)) if digest else alert_message(alerts[0])
                answer = self._send(conn, [alert.trans_num for alert in alerts], message)
            if not answer.ok:
                self.pause_seconds = self._pause_after(answer)
                return sent
            self._failures = 0
            sent += len(alerts)
        return sent

    def run(self, stop: threading.Event, on_round: Callable[[], None] = lambda: None) -> None:
        """Drain the ledger until `stop` is set; PostgreSQL or Slack being down only delays.
        `on_round` is called after every round in which PostgreSQL answered (the
        service's heartbeat); with the webhook empty, once per poll while idling."""
        if self._webhook is None:
            log.info("SLACK_WEBHOOK_URL is empty: Slack alerts are disabled (the ledger records them as 'disabled')")
            while not stop.is_set():
                on_round()
                stop.wait(self._settings.alert_poll_seconds)
            return
        log.info("alert sender started")
        try:
            while not stop.is_set():
                try:
                    sent = self.drain_once(stop)
                except psycopg.Error as exc:
                    log.warning("PostgreSQL unavailable (%s); retrying in %.0f s", str(exc).strip(), DB_RETRY_SECONDS)
                    self._disconnect()
                    stop.wait(DB_RETRY_SECONDS)
                    continue
                except Exception:  # a bug must not silence alerts for good: log it and carry on
                    log.exception("alert sender round failed")
                    self._disconnect()
                    stop.wait(DB_RETRY_SECONDS)
                    continue
                on_round()
                stop.wait(self.pause_seconds or (0.0 if sent else self._settings.alert_poll_seconds))
        finally:
            self.close()
            log.info("alert sender stopped")

    def close(self) -> None:
        self._disconnect()

    def post(self, message: dict) -> tuple[bool, str | None]:
        """Send one message outside the ledger (the data-quality alerts keep their own):
        (taken, the redacted error). Same webhook client, retries and redaction."""
        if self._webhook is None:
            return False, "SLACK_WEBHOOK_URL is empty"
        answer = self._post(message)
        return answer.ok, answer.error

    def _post(self, message: dict) -> _Answer:
        try:
            response = self._webhook.send_dict(message)
        except Exception as exc:  # connection refused, timeout … after slack-sdk's own retries
            return _Answer(ok=False, error=self._redact(f"{type(exc).__name__}: {exc}"))
        if response.status_code == 200 and response.body == "ok":
            return _Answer(ok=True)
        error = self._redact(f"HTTP {response.status_code}: {response.body}")
        if response.status_code == 429:
            return _Answer(ok=False, error=error, retry_after=_retry_after(response.headers))
        return _Answer(ok=False, error=error)

    def _send(self, conn: psycopg.Connection, trans_nums: list[str], message: dict) -> _Answer:
        """Post `message` inside the open transaction that claimed `trans_nums`. They are
        marked sent first, so Slack's 200 is followed by the COMMIT alone; a refusal
        rolls the mark back and records the refusal."""
        conn.execute("SAVEPOINT unsent")
        conn.execute(_SENT, (trans_nums,))
        answer = self._post(message)
        if not answer.ok:
            conn.execute("ROLLBACK TO SAVEPOINT unsent")
            self._record_refusal(conn, trans_nums, answer)
        return answer

    def _record_refusal(self, conn: psycopg.Connection, trans_nums: list[str], answer: _Answer) -> None:
        if answer.retry_after is not None:
            conn.execute(_RATE_LIMITED, (answer.error[:LAST_ERROR_CHARS], trans_nums))
            log.warning("Slack is rate limiting; pausing %.0f s", answer.retry_after)
        else:
            conn.execute(_FAILED, (answer.error[:LAST_ERROR_CHARS], self._settings.alert_max_attempts, trans_nums))
            log.warning("Slack refused a message of %d alert(s): %s", len(trans_nums), answer.error)

    def _pause_after(self, answer: _Answer) -> float:
        if answer.retry_after is not None:
            return answer.retry_after
        self._failures += 1
        return min(2.0**self._failures, MAX_BACKOFF_SECONDS)

    def _redact(self, text: str) -> str:
        return text.replace(self._url, "<SLACK_WEBHOOK_URL>")

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self._postgres.conninfo(), autocommit=True, application_name=APPLICATION_NAME, connect_timeout=10
            )
        return self._conn

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _retry_after(headers: dict) -> float:
    value = next((value for name, value in headers.items() if name.lower() == "retry-after"), None)
    try:
        return float(value)
    except (TypeError, ValueError):
        return 1.0


def counts(conn: psycopg.Connection) -> dict[str, int]:
    """How many ledger rows are in each status (every status present, 0 when none)."""
    found = dict(conn.execute("SELECT status, count(*) FROM fraud_alerts GROUP BY status").fetchall())
    return {status: found.get(status, 0) for status in STATUSES}
