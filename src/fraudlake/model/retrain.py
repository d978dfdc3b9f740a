"""Retraining with a promotion gate: a candidate from silver, compared with the
serving model on the same latest period, promoted only if better by a margin.

Both models are scored on the candidate's validation period (the latest
RETRAIN_VALIDATION_FRACTION of the rows in time, with the features computed over
the whole data, so each row sees its card's earlier history), and compared by
PR-AUC, the figure that matters at a fraud rate under 1%. Every run's candidate is
kept with its report, the serving model's report on the same rows and the two PR
curves on one chart, whether it was promoted or not.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from fraudlake import settings as cfg
from fraudlake.model import registry, training
from fraudlake.model.io import ModelLoadError, feature_dmatrix, load_model
from fraudlake.model.report import Report, evaluate, write_report


@dataclass(frozen=True)
class Decision:
    promoted: bool
    reason: str
    candidate: str  # the candidate's directory name in the registry
    candidate_version: str
    candidate_pr_auc: float
    serving_version: str | None
    serving_pr_auc: float | None
    margin: float

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def default_source() -> str:
    """RETRAIN_DELTA_URI, else the silver table on MinIO."""
    return cfg.get_model_settings().retrain_delta_uri or cfg.get_minio_settings().lakehouse_uri("silver", "transactions")


def retrain(delta_uri: str | None = None, *, rounds: int | None = None, margin: float | None = None,
            shuffle_training_labels: bool = False, threads: int = 0, root: Path | None = None) -> Decision:
    """Train a candidate, compare it with the serving model, promote it if it wins."""
    from fraudlake.model.data import read_delta_transactions

    settings = cfg.get_model_settings()
    root = root or registry.registry_root()
    delta_uri = delta_uri or default_source()
    margin = settings.retrain_promotion_margin if margin is None else margin
    prepared = training.prepare(read_delta_transactions(delta_uri), settings.retrain_validation_fraction)

    train_labels = None
    if shuffle_training_labels:  # a permutation test: a model that learnt nothing, which the gate must refuse
        train_labels = np.random.default_rng(0).permutation(prepared.labels[prepared.split.train])

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    building = registry.candidates_dir(root) / f".{stamp}.building"
    metadata, candidate_report = training.fit(prepared, building, f"delta:{delta_uri}",
                                              rounds or settings.retrain_rounds, threads, train_labels)
    name = f"{stamp}-{metadata['model_version']}"
    candidate_dir = registry.candidates_dir(root) / name
    os.rename(building, candidate_dir)  # the candidate appears whole, under its final name

    serving, serving_report = _serving_report(prepared)
    candidate_pr_auc = candidate_report.metrics["pr_auc"]
    if serving_report is None:
        promoted, reason = True, f"no serving model could be loaded ({serving})"
    else:
        needed = serving_report.metrics["pr_auc"] + margin
        promoted = candidate_pr_auc >= needed
        reason = (f"candidate PR-AUC {candidate_pr_auc:.4f} {'≥' if promoted else '<'} serving "
                  f"{serving_report.metrics['pr_auc']:.4f} + margin {margin}")
    decision = Decision(
        promoted=promoted, reason=reason, candidate=name, candidate_version=metadata["model_version"],
        candidate_pr_auc=candidate_pr_auc,
        serving_version=serving.version if serving_report is not None else None,
        serving_pr_auc=serving_report.metrics["pr_auc"] if serving_report is not None else None, margin=margin)
    _write_comparison(candidate_dir / "comparison", candidate_report, serving_report, decision)
    if promoted:
        registry.promote(name, root)
    registry.record_run({"at": datetime.now(UTC).isoformat(timespec="seconds"), "source": delta_uri,
                         **decision.as_dict()}, root)
    return decision


def _serving_report(prepared: training.Prepared):
    """(the serving model, its report on the validation period), or (the load error, None)."""
    try:
        model = load_model()
    except ModelLoadError as exc:
        return str(exc), None
    split = prepared.split
    probabilities = model.booster.predict(feature_dmatrix(prepared.features[split.validation]))
    title = f"serving model {model.version} on the same period"
    return model, evaluate(prepared.labels[split.validation], probabilities, model.bands, title)


def _write_comparison(directory: Path, candidate: Report, serving: Report | None, decision: Decision) -> None:
    from sklearn.metrics import precision_recall_curve

    from fraudlake.model.report import plt

    directory.mkdir(parents=True, exist_ok=True)
    if serving is not None:
        write_report(directory / "serving", serving)
    (directory / "decision.json").write_text(json.dumps({
        **decision.as_dict(), "candidate_metrics": candidate.metrics,
        "serving_metrics": serving.metrics if serving is not None else None}, indent=2) + "\n")
    fig, ax = plt.subplots(figsize=(6, 5))
    for label, report in (("candidate", candidate), ("serving", serving)):
        if report is not None:
            precision, recall, _ = precision_recall_curve(report.labels, report.probabilities)
            ax.plot(recall, precision, lw=1.5, label=f"{label}: PR-AUC {report.metrics['pr_auc']:.3f}")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02),
           title=f"{'promoted' if decision.promoted else 'refused'}: {decision.candidate_version}")
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(directory / "pr_curves.png", dpi=110)
    plt.close(fig)


def reload_api() -> str:
    """Ask the prediction API to load the promoted model now (POST /model/reload); the
    version it serves afterwards."""
    import httpx

    api = cfg.get_api_settings()
    response = httpx.post(f"{api.api_url}/model/reload", headers=api.auth_headers(), timeout=60)
    response.raise_for_status()
    return response.json()["model_version"]
