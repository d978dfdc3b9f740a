"""`fraudlake producer …`: load, stream and generate Kaggle-format transactions."""

from __future__ import annotations

import time
from pathlib import Path

import click

from fraudlake import settings as cfg


def _conninfo() -> str:
    return cfg.get_postgres_settings().conninfo()


def _report(counts, elapsed: float | None = None) -> None:
    line = counts.summary()
    if elapsed:
        line += f" in {elapsed:.1f} s ({(counts.loaded + counts.quarantined) / elapsed:,.1f} rows/s)"
    click.echo(line)


def _status_file(path: Path | None):
    from fraudlake.producer.status import StatusFile

    return StatusFile(path) if path is not None else None


def _open_kaggle_file(path: Path):
    """The file with its header checked; a wrong header is a KaggleFormatError saying what differs."""
    from fraudlake.producer.records import KaggleFile

    return KaggleFile(path)


_status_file_option = click.option(
    "--status-file", type=click.Path(dir_okay=False, path_type=Path),
    help="Write rows done and seconds spent to this JSON file about once a second (read by the dashboard).")


@click.group()
def producer() -> None:
    """Load, stream or generate transactions in the Kaggle fraudTrain.csv format."""


@producer.command()
@click.option("--csv", "csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="A file in the Kaggle fraudTrain.csv format.")
@click.option("--offset", type=click.IntRange(0), default=0, help="Data rows to skip at the start of the file.")
@click.option("--limit", type=click.IntRange(0), help="Most data rows to read.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
@_status_file_option
def load(csv_path: Path, offset: int, limit: int | None, progress: bool, status_file: Path | None) -> None:
    """Bulk-load a file with COPY; rows already present are skipped, bad rows quarantined."""
    from fraudlake.producer.load import load_file

    _open_kaggle_file(csv_path)  # refuse a wrong header before anything is loaded
    status = _status_file(status_file)
    started = time.monotonic()
    counts = load_file(_conninfo(), csv_path, offset=offset, limit=limit, progress=progress, on_progress=status)
    if status is not None:
        status.write(counts, time.monotonic() - started, finished=True)
    _report(counts)


@producer.command()
@click.option("--csv", "csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Stream the rows of this Kaggle-format file.")
@click.option("--generate", "generated", is_flag=True, help="Stream generated rows instead of a file.")
@click.option("--seed", type=int, help="Seed of the generated rows [PRODUCER_GENERATE_SEED].")
@click.option("--tps", type=click.FloatRange(min=0, min_open=True), help="Rows per second [PRODUCER_STREAM_TPS].")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), help="Stop after this many seconds.")
@click.option("--count", "max_rows", type=click.IntRange(1), help="Stop after this many rows.")
@click.option("--offset", type=click.IntRange(0), default=0, help="Data rows of the file to skip.")
@click.option("--limit", type=click.IntRange(0), help="Most data rows of the file to read.")
@click.option("--keep-times", is_flag=True, help="Keep the rows' own transaction times instead of now.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
@_status_file_option
def stream(csv_path: Path | None, generated: bool, seed: int | None, tps: float | None, duration: float | None,
           max_rows: int | None, offset: int, limit: int | None, keep_times: bool, progress: bool,
           status_file: Path | None) -> None:
    """Insert rows at a steady rate in small transactions; Ctrl-C stops with a summary."""
    from fraudlake.producer.stream import LOOKUP_ROWS, Pace, generated_chunks, stream_rows

    if (csv_path is None) == (not generated):
        raise click.UsageError("give exactly one of --csv PATH and --generate")
    if duration is not None and max_rows is not None:
        raise click.UsageError("give at most one of --duration and --count")
    settings = cfg.get_producer_settings()
    if generated:
        seed = settings.producer_generate_seed if seed is None else seed
        chunks, source = generated_chunks(seed), f"generate:seed={seed}"
    else:
        file = _open_kaggle_file(csv_path)
        chunks, source = file.chunks(LOOKUP_ROWS, offset, limit), file.source
    pace = Pace(tps or settings.producer_stream_tps, settings.producer_stream_commits_per_second, duration, max_rows)
    status = _status_file(status_file)
    counts, elapsed = stream_rows(_conninfo(), chunks, source, pace, keep_times=keep_times, progress=progress,
                                  reconnect_seconds=settings.producer_stream_reconnect_seconds, on_progress=status)
    if status is not None:
        status.write(counts, elapsed, finished=True)
    _report(counts, elapsed)


@producer.command("generate")
@click.option("--rows", type=click.IntRange(1), default=100_000, show_default=True, help="Transactions to generate.")
@click.option("--seed", type=int, help="Seed; the same seed gives the same rows [PRODUCER_GENERATE_SEED].")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write a Kaggle-format CSV here.")
@click.option("--to-db", is_flag=True, help="Load the rows into PostgreSQL `transactions`.")
@click.option("--velocity-cards", type=click.IntRange(0), default=0,
              help="Cards that each make a burst of fraudulent purchases within minutes.")
@click.option("--velocity-burst", type=click.IntRange(1), default=30, show_default=True,
              help="Purchases per velocity burst.")
@click.option("--velocity-window", type=click.IntRange(1), default=600, show_default=True,
              help="Seconds a velocity burst lasts.")
@click.option("--progress/--no-progress", default=True, help="Show progress bars.")
def generate_command(rows: int, seed: int | None, out: Path | None, to_db: bool, velocity_cards: int,
                     velocity_burst: int, velocity_window: int, progress: bool) -> None:
    """Synthetic transactions in exactly the Kaggle schema (Sparkov-like, with fraud episodes)."""
    from fraudlake.producer.generator import generate, write_kaggle_csv

    if (out is None) == (not to_db):
        raise click.UsageError("give exactly one of --out CSV and --to-db")
    settings = cfg.get_producer_settings()
    seed = settings.producer_generate_seed if seed is None else seed
    frame = generate(rows, seed, velocity_cards=velocity_cards, velocity_burst=velocity_burst,
                     velocity_window_s=velocity_window)
    if out is not None:
        write_kaggle_csv(frame, out, progress=progress)
        click.echo(f"wrote {len(frame):,} rows ({int(frame['is_fraud'].sum()):,} fraud) to {out}")
        return
    _load_frame(frame, seed, progress)


def _load_frame(frame, seed: int, progress: bool) -> None:
    """Load generated rows through the same checked COPY path as a file."""
    import tempfile

    from fraudlake.producer.generator import write_kaggle_csv
    from fraudlake.producer.load import load_file

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"generated-seed-{seed}.csv"
        write_kaggle_csv(frame, path, progress=progress)
        _report(load_file(_conninfo(), path, progress=progress))


@producer.command("vocabulary")
@click.option("--from", "sample", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=Path("data/fraudTrain_sample.csv"), show_default=True,
              help="The Kaggle-format CSV to take cities, merchants, names, jobs and streets from.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory to write the vocabulary files to; the shipped ones are in src/fraudlake/producer/data.")
def vocabulary_command(sample: Path, out_dir: Path) -> None:
    """Derive the generator's vocabulary files from a sample of the Kaggle file."""
    from fraudlake.producer.vocabulary import derive, write

    for path in write(out_dir, derive(sample)):
        click.echo(f"{path}: {len(path.read_text().splitlines()):,} lines")
