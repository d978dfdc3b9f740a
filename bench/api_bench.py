"""Benchmark: the prediction API on one uvicorn worker, with and without the history lookup.

Prints rows/s of POST /predict/raw/batch at --batch rows (top features for the
flagged rows, the default, and for every row with ?explain=all) and p50/p99 of single
POST /predict/raw calls, and draws the single-call latency histogram. Goals:
≥ 50,000 rows/s in batches of 1,000; single-call p99 ≤ 10 ms without the lookup.

For the lookup, generated transactions (ids prefixed `bench-`) are copied into the
PostgreSQL of the settings (`fraudlake up --only postgres`), scored as the
prediction job scores them (already committed, history in the table), and deleted
afterwards. Payloads are encoded before the clock starts, so the client's own JSON
work is not counted.

    .venv/bin/python bench/api_bench.py                 # both modes
    .venv/bin/python bench/api_bench.py --no-lookup     # no database needed
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click
import httpx
import numpy as np
import pandas as pd
import psycopg

from fraudlake import settings as cfg
from fraudlake.producer.generator import generate
from fraudlake.schema import COLUMN_NAMES

PREFIX = "bench-"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _payloads(frame: pd.DataFrame) -> list[dict]:
    out = frame.copy()
    out["trans_date_trans_time"] = out["trans_date_trans_time"].dt.strftime("%Y-%m-%d %H:%M:%S")
    out["dob"] = out["dob"].dt.strftime("%Y-%m-%d")
    return json.loads(out.to_json(orient="records"))


class Server:
    """One uvicorn worker on loopback, in its own process."""

    def __init__(self, lookup: bool):
        self.port = _free_port()
        env = os.environ | {"API_HISTORY_LOOKUP": str(lookup).lower()}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "fraudlake.api.app:create_app", "--factory", "--workers", "1",
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning", "--no-access-log"], env=env)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise click.ClickException("uvicorn exited during startup")
            time.sleep(0.3)
        raise click.ClickException(f"the API did not become healthy: {httpx.get(f'{self.url}/health').text}")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _client(url: str) -> httpx.Client:
    # The server reads API_TOKEN from the same settings.
    headers = {"content-type": "application/json", **cfg.get_api_settings().auth_headers()}
    return httpx.Client(base_url=url, headers=headers, timeout=60)


def _batch_rows_per_s(url: str, batches: list[bytes], batch_rows: int, explain: str, concurrency: int = 1) -> float:
    """Rows/s posting `batches`, by `concurrency` clients each sending its share in turn."""
    def send(share: list[bytes]) -> None:
        with _client(url) as client:
            for body in share:
                client.post("/predict/raw/batch", params={"explain": explain}, content=body).raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(send, [batches[i::concurrency] for i in range(concurrency)]))
    return len(batches) * batch_rows / (time.perf_counter() - started)


def _measure(url: str, batches: list[bytes], singles: list[bytes], batch_rows: int) -> dict:
    with _client(url) as client:
        # Warm-up: the first requests pay for lazy imports and caches.
        for body in batches[:2]:
            client.post("/predict/raw/batch", content=body).raise_for_status()
        for body in singles[:20]:
            client.post("/predict/raw", content=body).raise_for_status()
    rows_per_s = _batch_rows_per_s(url, batches, batch_rows, "flagged")
    rows_per_s_explained = _batch_rows_per_s(url, batches, batch_rows, "all")
    # Two clients: one's request is scored while the other's is encoded, sent and
    # read (and, with the lookup, while PostgreSQL searches), as a job sending its
    # partitions in parallel would have it.
    rows_per_s_concurrent = _batch_rows_per_s(url, batches, batch_rows, "flagged", concurrency=2)
    with _client(url) as client:
        latencies = []
        for body in singles:
            t0 = time.perf_counter()
            client.post("/predict/raw", content=body).raise_for_status()
            latencies.append(time.perf_counter() - t0)
    ms = np.array(latencies) * 1000
    return {"rows_per_s": rows_per_s, "rows_per_s_explained": rows_per_s_explained,
            "rows_per_s_concurrent": rows_per_s_concurrent,
            "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)), "latencies_ms": ms}


def _store(frame: pd.DataFrame, conninfo: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DELETE FROM transactions WHERE trans_num LIKE %s", (PREFIX + "%",))
        with conn.cursor().copy(f"COPY transactions ({', '.join(COLUMN_NAMES)}) FROM STDIN") as copy:
            for row in frame[list(COLUMN_NAMES)].itertuples(index=False):
                copy.write_row(row)
        # Planner statistics and the visibility map, as autovacuum would have them by the
        # time a real table serves lookups.
        conn.execute("VACUUM ANALYZE transactions")


def _remove(conninfo: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DELETE FROM transactions WHERE trans_num LIKE %s", (PREFIX + "%",))


def histogram(results: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    top = max(np.percentile(r["latencies_ms"], 99.5) for r in results.values())
    bins = np.linspace(0, top, 60)
    for label, r in results.items():
        ax.hist(r["latencies_ms"], bins=bins, alpha=0.6,
                label=f"{label}: p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms")
    ax.set(xlabel="POST /predict/raw latency (ms)", ylabel="requests", title="Single-call latency, one uvicorn worker")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


@click.command()
@click.option("--batch", "batch_rows", default=1000, show_default=True, help="Rows per batch request.")
@click.option("--batches", default=30, show_default=True, help="Batch requests timed.")
@click.option("--singles", default=1000, show_default=True, help="Single requests timed.")
@click.option("--cards", default=1000, show_default=True, help="Cards in the generated data (Kaggle has 983).")
@click.option("--rows", default=300_000, show_default=True, help="Generated transactions (stored when looking up).")
@click.option("--lookup/--no-lookup", default=True, show_default=True, help="Also measure with the PostgreSQL history lookup.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("reports/bench/api_latency.png"), show_default=True)
def main(batch_rows, batches, singles, cards, rows, lookup, out) -> None:
    results = run(batch_rows, batches, singles, cards, rows, lookup)
    for label, r in results.items():
        click.echo(f"{label:>15}: batch of {batch_rows:,}: {r['rows_per_s']:,.0f} rows/s "
                   f"({r['rows_per_s_explained']:,.0f} with ?explain=all, "
                   f"{r['rows_per_s_concurrent']:,.0f} from 2 clients); "
                   f"single: p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms")
    histogram(results, out)
    click.echo(f"latency histogram: {out}")


def run(batch_rows: int = 1000, batches: int = 30, singles: int = 1000, cards: int = 1000, rows: int = 300_000,
        lookup: bool = True) -> dict[str, dict]:
    """The figures of each mode ("without lookup", "with lookup")."""
    frame = generate(rows, seed=42, customers=cards).sort_values("trans_date_trans_time", kind="stable")
    frame["trans_num"] = PREFIX + frame["trans_num"]
    # The latest rows are scored, so the lookup finds a full week of history for their cards.
    scored = frame.iloc[-(batch_rows * batches + singles):]
    batch_bodies = [json.dumps(_payloads(scored.iloc[i * batch_rows:(i + 1) * batch_rows])).encode()
                    for i in range(batches)]
    single_bodies = [json.dumps(p).encode() for p in _payloads(scored.iloc[-singles:])]
    conninfo = cfg.get_postgres_settings().conninfo()
    results = {}
    modes = [("without lookup", False)] + ([("with lookup", True)] if lookup else [])
    try:
        if lookup:
            click.echo(f"storing {len(frame):,} generated transactions ({cards:,} cards) in PostgreSQL")
            _store(frame, conninfo)
        for label, with_lookup in modes:
            with Server(with_lookup) as server:
                results[label] = _measure(server.url, batch_bodies, single_bodies, batch_rows)
    finally:
        if lookup:
            _remove(conninfo)
    return results


if __name__ == "__main__":
    main()
