"""`fraudlake train`, `fraudlake evaluate` and `fraudlake model` (retrain, promote, rollback, current)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import numpy as np

from fraudlake.model.report import summary_lines, write_report

DEFAULT_GENERATED_ROWS = 400_000


def _echo_report(report, paths) -> None:
    for line in summary_lines(report):
        click.echo(line)
    click.echo(f"report: {', '.join(str(p) for p in paths)}")


@click.command("train")
@click.option("--csv", "csv_path", type=click.Path(exists=True, dir_okay=False), help="Labelled transactions in the Kaggle CSV format.")
@click.option("--delta", "delta_uri", help="A lakehouse Delta table of transactions (local path or s3a:// URI).")
@click.option("--generate", "generated_rows", type=int, help="Train on this many rows from the data-producer's generator.")
@click.option("--seed", default=0, show_default=True, help="Seed of the generator (with --generate).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("models/trained"), show_default=True,
              help="Directory to write model.json, metadata.json and report/ to.")
@click.option("--validation-fraction", default=0.2, show_default=True, type=click.FloatRange(0.05, 0.5),
              help="Share of the rows, the latest in time, that choose the threshold and are reported on.")
@click.option("--rounds", default=None, type=int, help="Boosting rounds (default: fraudlake.model.training.ROUNDS).")
@click.option("--threads", default=0, show_default=True, help="XGBoost threads; 0 uses every core.")
def train_command(csv_path, delta_uri, generated_rows, seed, out_dir, validation_fraction, rounds, threads) -> None:
    """Train the fraud model on a chronological split and write it with its report."""
    from fraudlake.model import training

    chosen = [name for name, value in (("--csv", csv_path), ("--delta", delta_uri), ("--generate", generated_rows)) if value]
    if len(chosen) > 1:
        raise click.UsageError(f"give one data source, not {' and '.join(chosen)}")
    if csv_path:
        from fraudlake.kaggle import read_kaggle_csv

        transactions, source = read_kaggle_csv(csv_path), f"csv:{csv_path}"
    elif delta_uri:
        from fraudlake.model.data import read_delta_transactions

        transactions, source = read_delta_transactions(delta_uri), f"delta:{delta_uri}"
    else:
        from fraudlake.producer.generator import generate

        generated_rows = generated_rows or DEFAULT_GENERATED_ROWS
        transactions, source = generate(generated_rows, seed=seed), f"generator:rows={generated_rows},seed={seed}"
    click.echo(f"training on {source}: {len(transactions):,} rows, {int(transactions['is_fraud'].sum()):,} frauds")
    metadata, report = training.train(transactions, out_dir, source, validation_fraction,
                                      rounds or training.ROUNDS, threads)
    click.echo(f"model {metadata['model_version']} written to {out_dir}")
    _echo_report(report, sorted((out_dir / "report").iterdir()))


@click.command("evaluate")
@click.option("--csv", "csv_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Labelled transactions in the Kaggle CSV format, e.g. the official fraudTest.csv.")
@click.option("--model", "model_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Model directory (default: MODEL_DIR, else the shipped default model).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write the report (default: reports/evaluate-<csv name>).")
def evaluate_command(csv_path, model_dir, out_dir) -> None:
    """Score a labelled CSV (history from within the file, point in time) and report."""
    from fraudlake.features import build_features
    from fraudlake.kaggle import read_kaggle_csv
    from fraudlake.model.io import load_model, resolve_model_dir
    from fraudlake.model.report import evaluate

    model = load_model(model_dir)
    transactions = read_kaggle_csv(csv_path)
    probabilities = model.predict_proba(build_features(transactions))
    title = f"{Path(csv_path).name} scored by {model.version}"
    report = evaluate(transactions["is_fraud"].to_numpy(dtype=np.int8), probabilities, model.bands, title)
    out_dir = out_dir or Path("reports") / f"evaluate-{Path(csv_path).stem}"
    click.echo(f"model {model.version} from {resolve_model_dir(model_dir)}")
    _echo_report(report, write_report(out_dir, report))


@click.group("model")
def model_group() -> None:
    """The model registry: retrain with a promotion gate, promote, roll back (MODEL_REGISTRY_DIR)."""


def _reload_api(enabled: bool) -> None:
    """Tell the API to load the promoted model; it keeps serving the old one if it cannot be reached."""
    if not enabled:
        return
    from fraudlake.model.retrain import reload_api

    try:
        click.echo(f"prediction API now serves {reload_api()}")
    except Exception as exc:  # noqa: BLE001 - the promotion stands; the API loads it on its next start
        click.echo(f"warning: the prediction API did not reload ({exc}); it serves the promoted model after a restart",
                   err=True)
        sys.exit(3)


@model_group.command("retrain")
@click.option("--delta", "delta_uri", help="Delta table to train from (default RETRAIN_DELTA_URI, else silver).")
@click.option("--rounds", type=int, help="Boosting rounds (default RETRAIN_ROUNDS).")
@click.option("--margin", type=float, help="PR-AUC margin over the serving model (default RETRAIN_PROMOTION_MARGIN).")
@click.option("--shuffle-training-labels", is_flag=True,
              help="Permutation test: train on shuffled labels, a model the gate must refuse.")
@click.option("--reload/--no-reload", default=True, show_default=True, help="POST /model/reload to the API after a promotion.")
def retrain_command(delta_uri, rounds, margin, shuffle_training_labels, reload) -> None:
    """Train a candidate on a chronological split and promote it only if it beats the serving model."""
    import json

    from fraudlake.model.retrain import retrain

    decision = retrain(delta_uri, rounds=rounds, margin=margin, shuffle_training_labels=shuffle_training_labels)
    click.echo(("promoted " if decision.promoted else "refused ") + f"{decision.candidate}: {decision.reason}")
    click.echo(json.dumps(decision.as_dict()))
    _reload_api(reload and decision.promoted)


@model_group.command("promote")
@click.argument("candidate")
@click.option("--reload/--no-reload", default=True, show_default=True, help="POST /model/reload to the API.")
def promote_command(candidate, reload) -> None:
    """Serve CANDIDATE (a directory name under candidates/), gate or not: an operator's override."""
    from fraudlake.model.registry import promote

    pointer = promote(candidate)
    click.echo(f"current {pointer['current']}, previous {pointer['previous']}")
    _reload_api(reload)


@model_group.command("rollback")
@click.option("--reload/--no-reload", default=True, show_default=True, help="POST /model/reload to the API.")
def rollback_command(reload) -> None:
    """Serve the previously promoted model again."""
    from fraudlake.model.registry import rollback

    pointer = rollback()
    click.echo(f"current {pointer['current']}, previous {pointer['previous']}")
    _reload_api(reload)


@model_group.command("current")
def current_command() -> None:
    """The model the API loads: its directory and version."""
    import json

    from fraudlake.model.io import METADATA_FILE, resolve_model_dir
    from fraudlake.model.registry import read_pointer

    directory = resolve_model_dir()
    version = json.loads((directory / METADATA_FILE).read_text())["model_version"]
    click.echo(json.dumps({"model_dir": str(directory), "model_version": version, **read_pointer()}))
