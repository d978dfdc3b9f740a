"""Benchmark: the two streaming jobs end to end, on the running local stack (`make up`).

Phases (each can be skipped):

1. **steady** — a generated feed at --tps for --seconds: commit (`transactions.created_at`)
   → bronze row visible (the Delta data file holding it written on MinIO) and commit →
   `fraud_predictions.predicted_at`, p50/p95/p99 and a histogram.
   Goals: bronze p99 ≤ LAKEHOUSE_TRIGGER_SECONDS + 2 s; prediction p50 ≤ 1.0 s, p99 ≤ 2.5 s.
2. **slack** — the prediction job restarted with a local fake Slack webhook (the one the
   tests use), a feed at --slack-tps (a fraud rate Slack's one message a second allows):
   commit → alert received, p50/p99. Goal p99 ≤ 3 s. The job is restarted with the
   stack's own settings afterwards.
3. **ramp** — feeds at each --ramp rate for --ramp-seconds: whether the prediction job
   keeps up (the last transaction scored within 5 s of the feed's end) and its p99.
   Goal: ≥ 5,000 tx/s sustained.

Then the memory (PSS) of every stack process. Writes reports/bench/<date>/streaming.md
and PNG charts, and prints the figures.

    .venv/bin/python bench/streaming_bench.py                       # all phases
    .venv/bin/python bench/streaming_bench.py --seconds 30 --no-ramp --no-slack
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

import click
import numpy as np
import psutil
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # tests.fakeslack: the same fake webhook the tests use

from fraudlake import settings as cfg  # noqa: E402
from fraudlake.lakehouse.reader import delta_table, query  # noqa: E402
from fraudlake.stack import components  # noqa: E402
from fraudlake.stack.minio import s3_filesystem  # noqa: E402
from tests.fakeslack import FakeSlack  # noqa: E402

FRAUDLAKE = REPO_ROOT / ".venv" / "bin" / "fraudlake"


def conn() -> psycopg.Connection:
    return psycopg.connect(cfg.get_postgres_settings().conninfo(), autocommit=True)


def feed(tps: int, seconds: float) -> tuple[datetime, list[str]]:
    """Stream tps × seconds generated transactions; their keys, and when it began."""
    with conn() as db:
        since = db.execute("SELECT now()").fetchone()[0]
    count = int(tps * seconds)
    subprocess.run([str(FRAUDLAKE), "producer", "stream", "--generate", "--tps", str(tps), "--count", str(count),
                    "--seed", str(random.randrange(1, 2**31)), "--no-progress"], check=True, cwd=REPO_ROOT)
    with conn() as db:
        keys = [r[0] for r in db.execute("SELECT trans_num FROM transactions WHERE created_at >= %s", (since,))]
    return since, keys


def wait_predicted(keys: list[str], timeout: float = 600) -> float:
    """Seconds until every key has a prediction."""
    started = time.monotonic()
    with conn() as db:
        while time.monotonic() - started < timeout:
            done = db.execute("SELECT count(*) FROM fraud_predictions WHERE trans_num = ANY(%s)", (keys,)).fetchone()[0]
            if done >= len(keys):
                return time.monotonic() - started
            time.sleep(0.5)
    raise click.ClickException(f"only {done} of {len(keys)} transactions predicted after {timeout:.0f} s")


def prediction_latencies(since: datetime) -> np.ndarray:
    with conn() as db:
        rows = db.execute("SELECT extract(epoch FROM p.predicted_at - t.created_at) FROM fraud_predictions p "
                          "JOIN transactions t USING (trans_num) WHERE t.created_at >= %s", (since,)).fetchall()
    return np.array([float(r[0]) for r in rows])


def bronze_latencies(since: datetime, expected: int, timeout: float = 600) -> np.ndarray:
    """Data file written (its modification time) minus commit, for bronze rows since `since`."""
    minio = cfg.get_minio_settings()
    filesystem = s3_filesystem(minio)
    since_ms = since.timestamp() * 1000
    started = time.monotonic()
    while True:
        table = delta_table("bronze", "transactions")
        actions = pa.table(table.get_add_actions(flatten=True)).to_pydict()
        latencies = []
        for path, modified in zip(actions["path"], actions["modification_time"]):
            written_ms = modified.timestamp() * 1000 if isinstance(modified, datetime) else float(modified)
            if written_ms < since_ms:
                continue
            data = pq.read_table(f"{minio.lakehouse_bucket}/bronze/transactions/{path}", filesystem=filesystem,
                                 columns=["created_at", "op"])
            created = [c.timestamp() * 1000 for c, op in zip(data["created_at"].to_pylist(), data["op"].to_pylist())
                       if c is not None and op == "c" and c.timestamp() * 1000 >= since_ms]
            latencies.extend((written_ms - c) / 1000 for c in created)
        if len(latencies) >= expected or time.monotonic() - started > timeout:
            return np.array(latencies)
        time.sleep(2)


def percentiles(values: np.ndarray) -> dict[str, float]:
    return {f"p{q}": float(np.percentile(values, q)) for q in (50, 95, 99)} | {"max": float(values.max())}


def describe(name: str, values: np.ndarray) -> str:
    p = percentiles(values)
    return f"{name}: n={len(values):,} p50 {p['p50']:.2f} s, p95 {p['p95']:.2f} s, p99 {p['p99']:.2f} s, max {p['max']:.2f} s"


def histogram(path: Path, series: dict[str, np.ndarray], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    top = max(float(np.percentile(v, 99.9)) for v in series.values() if len(v))
    bins = np.linspace(0, top * 1.05, 60)
    for name, values in series.items():
        p = percentiles(values)
        ax.hist(values, bins=bins, alpha=0.55, label=f"{name} (p50 {p['p50']:.2f} s, p99 {p['p99']:.2f} s)")
    ax.set_xlabel("seconds after the commit in PostgreSQL")
    ax.set_ylabel("transactions")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def restart_alerting(env: dict[str, str | None]) -> None:
    """The prediction job and the alert sender restarted with `env` (the webhook)."""
    cfg.apply_environment(env)
    for component in [c for c in components() if c.name in ("prediction", "alerts")]:
        component.stop()
        component.start()


def slack_phase(tps: int, seconds: float) -> np.ndarray:
    original = os.environ.get("SLACK_WEBHOOK_URL")
    with FakeSlack() as slack:
        restart_alerting({"SLACK_WEBHOOK_URL": slack.url})
        try:
            since, keys = feed(tps, seconds)
            wait_predicted(keys)
            with conn() as db:
                alerted = dict(db.execute(
                    "SELECT a.trans_num, extract(epoch FROM t.created_at) FROM fraud_alerts a "
                    "JOIN transactions t USING (trans_num) WHERE t.created_at >= %s", (since,)).fetchall())
            deadline = time.monotonic() + 120
            arrival: dict[str, float] = {}
            while len(arrival) < len(alerted) and time.monotonic() < deadline:
                for message in slack.messages:
                    text = json.dumps(message.payload)
                    for key in alerted:
                        if key in text:
                            arrival.setdefault(key, message.wall)
                time.sleep(1)
        finally:
            restart_alerting({"SLACK_WEBHOOK_URL": original})
    return np.array([arrival[k] - float(alerted[k]) for k in arrival])


def ramp_phase(rates: list[int], seconds: float) -> list[dict]:
    """Feeds at each rate in turn until the prediction job falls behind (its last
    prediction more than 5 s after the feed ended)."""
    steps = []
    for rate in rates:
        click.echo(f"ramp: {rate} tx/s for {seconds:.0f} s …")
        started = time.monotonic()
        since, keys = feed(rate, seconds)
        fed = time.monotonic() - started
        drain = wait_predicted(keys)
        steps.append({"rate": rate, "fed_per_s": len(keys) / fed, "drain_s": drain, "kept_up": drain <= 5,
                      **percentiles(prediction_latencies(since))})
        if drain > 5:
            break
    return steps


def count(table: tuple[str, str], where: str = "true") -> int:
    return query(f"SELECT count(*) AS n FROM t WHERE {where}", t=table).to_pylist()[0]["n"]


def predicted_count() -> int:
    with conn() as db:
        return db.execute("SELECT count(*) FROM fraud_predictions").fetchone()[0]


def backfill_phase(rows: int, out: Path) -> dict[str, float]:
    """Bulk-load `rows` generated transactions; seconds until bronze, silver and the
    predictions hold them all (measured from the start of the load)."""
    csv = out / "backfill.csv"
    subprocess.run([str(FRAUDLAKE), "producer", "generate", "--rows", str(rows), "--seed",
                    str(random.randrange(1, 2**31)), "--out", str(csv)], check=True, cwd=REPO_ROOT)
    silver_before = count(("silver", "transactions"))
    bronze_before = count(("bronze", "transactions"), "op = 'c'")
    predicted_before = predicted_count()
    started = time.monotonic()
    subprocess.run([str(FRAUDLAKE), "producer", "load", "--csv", str(csv), "--no-progress"], check=True, cwd=REPO_ROOT)
    done: dict[str, float] = {"loaded into PostgreSQL": time.monotonic() - started}
    checks = {
        "bronze": lambda: count(("bronze", "transactions"), "op = 'c'") >= bronze_before + rows,
        "silver": lambda: count(("silver", "transactions")) >= silver_before + rows,
        "predictions": lambda: predicted_count() >= predicted_before + rows,
    }
    while checks and time.monotonic() - started < 1800:
        for name, check in list(checks.items()):
            if check():
                done[name] = time.monotonic() - started
                del checks[name]
        time.sleep(5)
    csv.unlink()
    return done


def memory_mb() -> dict[str, float]:
    """Memory of each stack component, its child processes included, as proportional
    set size (PSS): a page shared by several processes (PostgreSQL's shared buffers,
    mapped by every backend) counts once in all, not once per process as RSS would."""
    found = {}
    for component in components():
        pid = component.pid()
        if pid is None:
            continue
        try:
            root = psutil.Process(pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        total = 0
        for process in processes:
            try:
                total += process.memory_full_info().pss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        found[component.name] = total / 2**20
    return found


@click.command()
@click.option("--tps", default=1000, show_default=True, help="Rate of the steady phase.")
@click.option("--seconds", default=120.0, show_default=True, help="Length of the steady phase.")
@click.option("--warmup", default=30.0, show_default=True, help="Seconds of unmeasured feed before the steady phase.")
@click.option("--slack/--no-slack", default=True, help="Measure commit → Slack.")
@click.option("--slack-tps", default=30, show_default=True, help="Rate of the Slack phase (~2 % are alerted).")
@click.option("--slack-seconds", default=60.0, show_default=True)
@click.option("--ramp/--no-ramp", default=True, help="Find the highest rate the prediction job keeps up with.")
@click.option("--ramp-rates", default="2000,3500,5000,6500", show_default=True)
@click.option("--ramp-seconds", default=30.0, show_default=True)
@click.option("--backfill", "backfill_rows", default=0, show_default=True,
              help="Also bulk-load this many generated rows and time bronze, silver and predictions (1300000: fraudTrain's size).")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Report folder (default reports/bench/<date>).")
def main(tps, seconds, warmup, slack, slack_tps, slack_seconds, ramp, ramp_rates, ramp_seconds, backfill_rows, out) -> None:
    out = out or REPO_ROOT / "reports" / "bench" / date.today().isoformat()
    out.mkdir(parents=True, exist_ok=True)
    streaming = cfg.get_streaming_settings()
    lines = [f"# Streaming benchmark, {datetime.now():%Y-%m-%d %H:%M}", "",
             f"{os.cpu_count()} cores; triggers: bronze {streaming.lakehouse_trigger_seconds} s, "
             f"prediction {streaming.prediction_trigger_seconds} s", ""]

    def say(line: str) -> None:
        click.echo(line)
        lines.append(f"- {line}")

    running = {c.name for c in components() if c.pid() is not None}
    if seconds:
        if warmup:
            # Freshly started JVMs compile their hot paths and the jobs' first batches
            # refresh gold and read the tables' logs: seconds of latency that say nothing
            # about the steady state.
            click.echo(f"warm-up: {tps} tx/s for {warmup:.0f} s (not measured) …")
            _, warm_keys = feed(tps, warmup)
            if "prediction" in running:
                wait_predicted(warm_keys)
        click.echo(f"steady: {tps} tx/s for {seconds:.0f} s …")
        since, keys = feed(tps, seconds)
        series = {}
        if "prediction" in running:
            wait_predicted(keys)
            series["commit → prediction"] = prediction_latencies(since)
        if "lakehouse" in running:
            series["commit → bronze file written"] = bronze_latencies(since, len(keys))
        say(f"steady {tps} tx/s, {len(keys):,} transactions; jobs running: "
            + (", ".join(sorted(running & {"lakehouse", "prediction"})) or "none"))
        for name, values in series.items():
            say(describe(name, values))
        histogram(out / "steady_latency.png", series, f"Latency at a steady {tps} tx/s")
        lines.append("\n![steady latency](steady_latency.png)\n")

    if slack:
        click.echo(f"slack: {slack_tps} tx/s for {slack_seconds:.0f} s …")
        alerts = slack_phase(slack_tps, slack_seconds)
        if len(alerts):
            say(describe(f"commit → Slack alert received ({slack_tps} tx/s)", alerts))
            histogram(out / "slack_latency.png", {"commit → Slack": alerts}, f"Alert latency at {slack_tps} tx/s")
            lines.append("\n![slack latency](slack_latency.png)\n")
        else:
            say("slack: the feed produced no alert")

    if ramp:
        for step in ramp_phase([int(r) for r in ramp_rates.split(",")], ramp_seconds):
            say(f"ramp {step['rate']} tx/s (fed at {step['fed_per_s']:,.0f}/s): last prediction {step['drain_s']:.1f} s "
                f"after the feed ended, p50 {step['p50']:.2f} s, p99 {step['p99']:.2f} s — "
                f"{'kept up' if step['kept_up'] else 'fell behind'}")

    if backfill_rows:
        click.echo(f"backfill: {backfill_rows:,} rows …")
        for what, elapsed in backfill_phase(backfill_rows, out).items():
            say(f"backfill of {backfill_rows:,} rows: {what} after {elapsed:.0f} s")

    memory = memory_mb()
    say("memory (PSS): " + ", ".join(f"{name} {mb:,.0f} MB" for name, mb in memory.items())
        + f"; total {sum(memory.values()) / 1024:.2f} GiB")
    (out / "streaming.md").write_text("\n".join(lines) + "\n")
    click.echo(f"report: {out / 'streaming.md'}")


if __name__ == "__main__":
    main()
