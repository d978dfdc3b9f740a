"""Saving and loading a fraud model: XGBoost's native JSON plus `metadata.json`.

A model directory holds `model.json` (the booster) and `metadata.json` (feature
names and order, risk bands, hash of the training data, metrics). Loading checks
the feature list against `fraudlake.features`, so a model trained on other features
is refused instead of silently scoring columns in the wrong order.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xgboost as xgb

from fraudlake.errors import FraudlakeError
from fraudlake.features import FEATURE_NAMES, FEATURES, Columns, compute_features, feature_matrix
from fraudlake.resources import packaged_file
from fraudlake.risk import RiskBands, RiskBandsError
from fraudlake.settings import get_model_settings

# From this many rows on, a request is scored on every core; below it, thread
# hand-off costs more than it saves (measured: 1,000 rows run twice as fast on 2
# threads, a single row slower).
PARALLEL_ROWS = 64

_PARALLEL_THREADS = os.cpu_count() or 1

MODEL_FILE = "model.json"
METADATA_FILE = "metadata.json"
DEFAULT_MODEL_DIR = packaged_file("fraudlake.model", "default")  # package data (fraudlake.resources)


class ModelLoadError(FraudlakeError, RuntimeError):
    """The model directory is missing, unreadable or made for other features."""


@dataclass(frozen=True)
class Scores:
    """A batch of transactions scored, arrays in input order."""

    probabilities: np.ndarray
    is_fraud: np.ndarray
    risk_levels: np.ndarray
    top_features: list[Sequence[dict]]  # empty for rows left unexplained


@dataclass
class FraudModel:
    booster: xgb.Booster
    metadata: dict
    directory: Path | None = None
    # A second copy of the booster for large batches: `nthread` is a property of the
    # booster, and changing it per request would race between concurrent requests.
    _parallel: xgb.Booster = field(init=False, repr=False)

    def __post_init__(self):
        self.bands = RiskBands.from_metadata(self.metadata)
        self._parallel = self.booster.copy()
        self._parallel.set_param({"nthread": _PARALLEL_THREADS})
        self.booster.set_param({"nthread": 1})

    def _booster_for(self, rows: int) -> tuple[xgb.Booster, int]:
        """The booster copy for a request of `rows`, and its thread count."""
        return (self._parallel, _PARALLEL_THREADS) if rows >= PARALLEL_ROWS else (self.booster, 1)

    @property
    def version(self) -> str:
        return self.metadata["model_version"]

    def predict_proba(self, features: Columns) -> np.ndarray:
        return self._predict(feature_matrix(features))

    def _predict(self, matrix: np.ndarray) -> np.ndarray:
        # inplace_predict skips building a DMatrix: a third of the cost of a single-row call.
        booster, _ = self._booster_for(len(matrix))
        return booster.inplace_predict(matrix, missing=np.nan)

    def _top_features(self, matrix: np.ndarray, count: int = 3) -> list[list[dict]]:
        """The features that pushed each score up most, with their log-odds contribution.

        Saabas attributions (`approx_contribs`): the same ranking idea as SHAP at a
        fraction of the cost, which keeps a 1,000-row batch within milliseconds.
        """
        booster, threads = self._booster_for(len(matrix))
        # nthread: by default building the DMatrix wakes every core, which for one row
        # costs more than the building.
        contributions = booster.predict(feature_dmatrix(matrix, nthread=threads), pred_contribs=True, approx_contribs=True)[:, :-1]
        order = np.argsort(-contributions, axis=1)[:, :count]
        # Select, round and convert whole arrays at once: per-element float()/round()
        # calls cost more than the attributions themselves on a 1,000-row batch.
        picked_values = np.take_along_axis(matrix, order, axis=1).astype(np.float64)
        picked_values = np.where(np.isnan(picked_values), None, picked_values).tolist()
        picked_contributions = np.round(np.take_along_axis(contributions, order, axis=1), 4).tolist()
        names = np.asarray(FEATURE_NAMES, dtype=object)[order].tolist()
        return [
            [{"feature": name, "value": value, "contribution": contribution}
             for name, value, contribution in zip(row_names, row_values, row_contributions)]
            for row_names, row_values, row_contributions in zip(names, picked_values, picked_contributions)
        ]

    def score(self, transactions: Columns, history: Columns | None = None, explain_all: bool = True) -> Scores:
        """Probabilities, labels and levels; top features for every row, or (explain_all
        false) only for the rows judged fraud, the others getting an empty sequence."""
        matrix = feature_matrix(compute_features(transactions, history))
        probabilities = self._predict(matrix)
        is_fraud = probabilities >= self.bands.fraud_threshold
        if explain_all:
            top_features = self._top_features(matrix)
        else:
            # One shared, immutable "no explanation" for the rows not judged fraud.
            top_features = [()] * len(matrix)
            flagged = np.flatnonzero(is_fraud)
            for row, explanation in zip(flagged, self._top_features(matrix[flagged]) if len(flagged) else []):
                top_features[row] = explanation
        return Scores(
            probabilities=probabilities,
            is_fraud=is_fraud,
            risk_levels=self.bands.levels(probabilities),
            top_features=top_features,
        )


def feature_dmatrix(matrix: np.ndarray, label: np.ndarray | None = None, nthread: int | None = None) -> xgb.DMatrix:
    """A `feature_matrix` as XGBoost's DMatrix, with the feature names and types."""
    return xgb.DMatrix(matrix, label=label, feature_names=list(FEATURE_NAMES), feature_types=list(FEATURES.values()),
                       enable_categorical=True, missing=np.nan, nthread=nthread)


def model_version(model_json: bytes) -> str:
    """Names the model by its content, so the same training run gives the same version."""
    return "xgb-" + hashlib.sha256(model_json).hexdigest()[:12]


def save_model(directory: Path, booster: xgb.Booster, metadata: dict) -> dict:
    """Write model.json and metadata.json (with `model_version` added); returns the metadata."""
    directory.mkdir(parents=True, exist_ok=True)
    booster.save_model(directory / MODEL_FILE)
    metadata = {"model_version": model_version((directory / MODEL_FILE).read_bytes()), **metadata}
    (directory / METADATA_FILE).write_text(json.dumps(metadata, indent=2, default=str) + "\n")
    return metadata


def resolve_model_dir(directory: Path | None = None) -> Path:
    """The given directory, else MODEL_DIR, else the model promoted in the registry,
    else the default model shipped with fraudlake."""
    from fraudlake.model.registry import promoted_model_dir

    return Path(directory or get_model_settings().model_dir or promoted_model_dir() or DEFAULT_MODEL_DIR)


def load_model(directory: Path | None = None) -> FraudModel:
    directory = resolve_model_dir(directory)
    try:
        metadata = json.loads((directory / METADATA_FILE).read_text())
        booster = xgb.Booster(model_file=str(directory / MODEL_FILE))
    except (OSError, ValueError, xgb.core.XGBoostError) as exc:
        raise ModelLoadError(f"cannot load a model from {directory}: {exc}") from exc
    if metadata.get("features") != list(FEATURE_NAMES):
        raise ModelLoadError(
            f"{directory} was trained on features {metadata.get('features')}, this fraudlake computes "
            f"{list(FEATURE_NAMES)}; retrain it with `fraudlake train`")
    try:
        return FraudModel(booster, metadata, directory)
    except RiskBandsError as exc:  # so whoever serves a model handles one error, not two
        raise ModelLoadError(f"cannot serve the model in {directory}: {exc}") from exc
