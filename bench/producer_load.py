"""Benchmark: bulk-load rows/s of `producer load` into PostgreSQL.

Generates a Kaggle-format file with the generator (progress shown), empties
`transactions`, loads the file once into the empty table and once more (every row
skipped as already present), and prints rows/s for both. Goal: ≥ 50,000 rows/s, so
the 1.3M-row fraudTrain.csv loads in under 30 s. Needs a running PostgreSQL with
the fraudlake schema (`fraudlake up --only postgres`); it empties `transactions`, so
it refuses to run without --empty-the-table (`make bench` runs it on its own stack).

    .venv/bin/python bench/producer_load.py --rows 1000000 --empty-the-table
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import click
import psycopg

from fraudlake import settings as cfg
from fraudlake.producer.generator import generate, write_kaggle_csv
from fraudlake.producer.db import Counts
from fraudlake.producer.load import load_file


@click.command()
@click.option("--rows", type=click.IntRange(1), default=1_000_000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--keep-rows", is_flag=True, help="Leave the loaded rows in `transactions` afterwards.")
@click.option("--empty-the-table", is_flag=True,
              help="Consent: this benchmark empties `transactions` of the database the settings name. "
                   "`make bench` runs it on a stack of its own instead.")
def main(rows: int, seed: int, keep_rows: bool, empty_the_table: bool) -> None:
    if not empty_the_table:
        raise click.UsageError(f"this empties `transactions` in {cfg.get_postgres_settings().postgres_db!r} on port "
                               f"{cfg.get_postgres_settings().postgres_port}; pass --empty-the-table, or run `make bench`")
    for label, (counts, seconds) in run(rows, seed, keep_rows).items():
        click.echo(f"{label}: {counts.summary()}; {seconds:.1f} s, {counts.read / seconds:,.0f} rows/s")


def run(rows: int, seed: int, keep_rows: bool = False) -> dict[str, tuple[Counts, float]]:
    """Counts and seconds of a load into the emptied table and of its rerun."""
    conninfo = cfg.get_postgres_settings().conninfo()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.csv"
        click.echo(f"generating {rows:,} rows (seed {seed})")
        write_kaggle_csv(generate(rows, seed), path, progress=True)
        click.echo(f"file: {path.stat().st_size / 1e6:,.0f} MB")
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("TRUNCATE transactions CASCADE")
        for label in ("into an empty table", "rerun, all present"):
            start = time.perf_counter()
            counts = load_file(conninfo, path)
            results[label] = (counts, time.perf_counter() - start)
    if not keep_rows:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("TRUNCATE transactions CASCADE")
    return results


if __name__ == "__main__":
    main()
