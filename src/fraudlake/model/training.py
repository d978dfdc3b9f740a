"""Training the fraud model on a chronological split.

The features are computed once over the whole, time-ordered data (each row sees
only its card's earlier rows), then the rows are cut at a point in time: the model
learns on the earlier period, and the fraud threshold, the risk bands and the
reported metrics come from the later one, with its natural fraud rate. No random
split and no resampling of the evaluation rows, so the figures are what the model
would have done on the days after its training data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from fraudlake.errors import FraudlakeError
from fraudlake.features import FEATURE_NAMES, FEATURES, HISTORY_WINDOW, compute_features, feature_matrix
from fraudlake.model.io import feature_dmatrix, save_model
from fraudlake.model.report import Report, evaluate, write_report
from fraudlake.risk import choose_bands
from fraudlake.schema import COLUMN_NAMES, TRANSACTION_COLUMNS, ColumnType

PARAMS = {
    "objective": "binary:logistic",
    "eval_metric": "aucpr",
    "tree_method": "hist",
    "max_depth": 6,
    "learning_rate": 0.1,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 1,
    "max_cat_to_onehot": 1,
    "seed": 0,
}
ROUNDS = 150


# One dtype per column kind, so a CSV and a Delta table with the same values hash alike.
_CANONICAL_DTYPES = {
    name: {ColumnType.TIMESTAMP: "datetime64[s]", ColumnType.DATE: "datetime64[s]", ColumnType.TEXT: "string",
           ColumnType.DOUBLE: "float64", ColumnType.DECIMAL: "float64"}.get(kind, "int64")
    for name, kind in TRANSACTION_COLUMNS.items()
}


class TrainingDataError(FraudlakeError, ValueError):
    """The data cannot train an honest model (too small, or a period without fraud)."""


@dataclass(frozen=True)
class ChronologicalSplit:
    train: np.ndarray  # boolean masks over the time-ordered rows
    validation: np.ndarray
    cut: pd.Timestamp


def data_hash(transactions: pd.DataFrame) -> str:
    """sha256 of the 22 columns' values, whatever file or table (and so dtypes) they came from."""
    canonical = transactions[list(COLUMN_NAMES)].astype(_CANONICAL_DTYPES)
    hashed = pd.util.hash_pandas_object(canonical, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def chronological_split(times: pd.Series, validation_fraction: float) -> ChronologicalSplit:
    """Rows before the cut train; rows at or after it validate. Equal times stay together."""
    cut = times.quantile(1 - validation_fraction, interpolation="lower")
    validation = (times >= cut).to_numpy()
    return ChronologicalSplit(train=~validation, validation=validation, cut=cut)


def _period(times: pd.Series) -> list[str]:
    return [str(times.min()), str(times.max())]


@dataclass(frozen=True)
class Prepared:
    """Time-ordered transactions, their features and labels, and the chronological split."""

    transactions: pd.DataFrame
    features: np.ndarray
    labels: np.ndarray
    split: ChronologicalSplit


def prepare(transactions: pd.DataFrame, validation_fraction: float = 0.2) -> Prepared:
    """Sort by time, compute the features once over the whole data, cut at a point in time."""
    transactions = transactions.sort_values("trans_date_trans_time", kind="stable").reset_index(drop=True)
    features = feature_matrix(compute_features(transactions))
    labels = transactions["is_fraud"].to_numpy(dtype=np.int8)
    split = chronological_split(transactions["trans_date_trans_time"], validation_fraction)
    for name, mask in (("training", split.train), ("validation", split.validation)):
        if labels[mask].sum() == 0 or labels[mask].sum() == mask.sum():
            raise TrainingDataError(f"the {name} period ({mask.sum()} rows) needs both fraud and non-fraud rows")
    return Prepared(transactions, features, labels, split)


def train(transactions: pd.DataFrame, out_dir: Path, source: str, validation_fraction: float = 0.2,
          rounds: int = ROUNDS, threads: int = 0) -> tuple[dict, Report]:
    """Train, choose the bands on the later period, write model + metadata + report to out_dir."""
    return fit(prepare(transactions, validation_fraction), out_dir, source, rounds, threads)


def fit(prepared: Prepared, out_dir: Path, source: str, rounds: int = ROUNDS, threads: int = 0,
        train_labels: np.ndarray | None = None) -> tuple[dict, Report]:
    """Train on the earlier period (on `train_labels` instead of the true ones if given:
    a permutation test), choose the bands and report on the later one, write to out_dir."""
    transactions, features, labels, split = prepared.transactions, prepared.features, prepared.labels, prepared.split
    times = transactions["trans_date_trans_time"]

    params = PARAMS | {"nthread": threads}
    train_matrix = feature_dmatrix(features[split.train],
                                   label=labels[split.train] if train_labels is None else train_labels)
    booster = xgb.train(params, train_matrix, num_boost_round=rounds)
    probabilities = booster.predict(feature_dmatrix(features[split.validation], label=labels[split.validation]))
    bands = choose_bands(labels[split.validation], probabilities)
    report = evaluate(labels[split.validation], probabilities, bands, title=f"validation period of {source}")

    metadata = {
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "features": list(FEATURE_NAMES),
        "feature_types": list(FEATURES.values()),
        "history_window_seconds": int(HISTORY_WINDOW.total_seconds()),
        **bands.to_metadata(),
        "training_data": {
            "source": source,
            "sha256": data_hash(transactions),
            "rows": len(transactions),
            "frauds": int(labels.sum()),
            "train_period": _period(times[split.train]),
            "validation_period": _period(times[split.validation]),
            **({"training_labels": "shuffled"} if train_labels is not None else {}),
        },
        "params": params,
        "rounds": rounds,
        "metrics": report.metrics,
    }
    metadata = save_model(out_dir, booster, metadata)
    write_report(out_dir / "report", report)
    return metadata, report
