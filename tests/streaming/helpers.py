"""Shared by the streaming job tests: the job processes, a generated feed, waiting."""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

import psycopg

from fraudlake import settings as cfg
from fraudlake.stack import components
from fraudlake.stack.jobs import StreamingJob
from fraudlake.stack.process import log_tail
from tests.producer.helpers import producer


def component(name: str):
    (found,) = [c for c in components() if c.name == name]
    return found


def job(name: str) -> StreamingJob:
    found = component(name)
    assert isinstance(found, StreamingJob)
    return found


@contextmanager
def jobs_alerting(slack_url: str, *names: str) -> Iterator[list[StreamingJob]]:
    """The named jobs and the alert sender (re)started with alerts going to `slack_url`
    (the prediction job records them `pending`, the sender posts them); stopped after."""
    cfg.apply_environment({"SLACK_WEBHOOK_URL": slack_url})
    started = [job(name) for name in names]
    sender = component("alerts")
    try:
        for component_ in [*started, sender]:
            component_.stop()  # one left by an earlier run would hold another webhook
            component_.start()
        yield started
    finally:
        for component_ in [sender, *started]:
            component_.stop()
        cfg.apply_environment({"SLACK_WEBHOOK_URL": None})


@contextmanager
def environment(overrides: dict[str, str]) -> Iterator[None]:
    """`overrides` set for the settings and the processes started meanwhile; the
    variables' earlier values (or absence) restored after."""
    saved = {name: os.environ.get(name) for name in overrides}
    cfg.apply_environment(overrides)
    try:
        yield
    finally:
        cfg.apply_environment(saved)


@contextmanager
def supervising(*names: str) -> Iterator[None]:
    """The stack's supervisor running, as `make up` starts it, watching only `names`
    and looking every half second (the test stack runs without one)."""
    from fraudlake.stack.supervisor import Supervised

    with environment({"STACK_SUPERVISE": "true", "SUPERVISOR_COMPONENTS": ",".join(names),
                      "SUPERVISOR_INTERVAL_SECONDS": "0.5", "SUPERVISOR_GRACE_SECONDS": "1"}):
        supervisor = component(Supervised.name)
        try:
            supervisor.start()
            yield
        finally:
            supervisor.stop()


def restarts(name: str) -> int:
    """How often the supervisor restarted `name`, as `make status` shows it."""
    from fraudlake import stack

    return stack.status()[name]["restarts"].get("restarts", 0)


def stream(count: int, tps: int):
    """`fraudlake producer stream --generate` of `count` new transactions at `tps`, in
    the background, with a seed of its own so its keys are new."""
    return producer("stream", "--generate", "--count", str(count), "--tps", str(tps),
                    "--seed", str(random.randrange(1, 2**31)), "--no-progress")


def finish(process, timeout: float = 300) -> None:
    stdout, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, stderr


def keys_since(db: psycopg.Connection, since: datetime) -> list[str]:
    return [row[0] for row in db.execute("SELECT trans_num FROM transactions WHERE created_at >= %s", (since,))]


def db_now(db: psycopg.Connection) -> datetime:
    return db.execute("SELECT now()").fetchone()[0]


def crash_mid_stream(db: psycopg.Connection, crashed: StreamingJob, count: int, tps: int, after: int) -> list[str]:
    """Stream `count` new transactions, kill -9 the job once `after` of them are in,
    start it again as an operator would, and return every key of the feed."""
    since = db_now(db)
    feed = stream(count, tps)
    wait_for(lambda: len(keys_since(db, since)) > after, timeout=60, what="the feed to be under way")
    crashed.kill()
    crashed.start()
    finish(feed)
    keys = keys_since(db, since)
    assert len(keys) == count
    return keys


def predictions(db: psycopg.Connection, keys) -> dict[str, tuple]:
    rows = db.execute("SELECT trans_num, fraud_probability, is_fraud_predicted, risk_level FROM fraud_predictions "
                      "WHERE trans_num = ANY(%s)", (list(keys),))
    return {row[0]: row[1:] for row in rows}


def alerted(db: psycopg.Connection, keys) -> list[str]:
    """The keys that must reach Slack: predicted fraud at or above ALERT_MIN_LEVEL."""
    levels = cfg.get_alert_settings().alert_min_level.levels_from()
    return [row[0] for row in db.execute(
        "SELECT trans_num FROM fraud_predictions WHERE trans_num = ANY(%s) AND is_fraud_predicted "
        "AND risk_level = ANY(%s)", (list(keys), levels))]


def alert_statuses(db: psycopg.Connection, keys) -> dict[str, int]:
    """How many of `keys` the alert ledger (`fraud_alerts`) holds in each status."""
    return dict(db.execute("SELECT status, count(*) FROM fraud_alerts WHERE trans_num = ANY(%s) GROUP BY 1",
                           (list(keys),)).fetchall())


# Alerts and digest lines name the transaction as `trans_num` (fraudlake.alerts.messages).
_QUOTED = re.compile(r"`([^`]+)`")


def slack_counts(messages: Iterable, keys) -> Counter:
    """How many Slack messages name each key (one alert, or a line of a digest)."""
    wanted = set(keys)
    counts = Counter({key: 0 for key in wanted})
    for message in messages:
        counts.update(set(_QUOTED.findall(json.dumps(message.payload))) & wanted)
    return counts


def wait_for(check: Callable[[], bool], *, timeout: float, what: str, interval: float = 1.0,
             explain: Callable[[], str] | None = None) -> None:
    """Poll `check` until it holds; AssertionError after `timeout` s, with what `explain`
    says about the state it gave up in (a CI log is all there is to read afterwards)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise AssertionError(f"not within {timeout:.0f} s: {what}" + (f"\n{explain()}" if explain else ""))


def jobs_state(*names: str, log_lines: int = 15) -> str:
    """Each job's process, its queries' last progress and its log's last lines."""
    parts = []
    for name in names:
        found = job(name)
        parts.append(f"--- {name}: pid {found.pid()}")
        try:
            parts += [f"{q.query}: {q.state}, batch {q.batch_id}, at {q.updated_at:%H:%M:%S}, error {q.error}"
                      for q in found.progress(include_job=True)]
        except Exception as exc:  # noqa: BLE001 - a report of the state, whatever it is
            parts.append(f"progress unreadable: {exc}")
        parts.append(log_tail(found.daemon.log_file, log_lines))
    return "\n".join(parts)


def wait_scored(db: psycopg.Connection, keys, timeout: float = 240) -> None:
    """Wait until every key has its prediction; on giving up, say how many had and why."""
    wait_for(lambda: len(predictions(db, keys)) == len(keys), timeout=timeout, what=f"{len(keys)} predictions",
             explain=lambda: f"{len(predictions(db, keys))} scored\n{jobs_state('prediction')}")

