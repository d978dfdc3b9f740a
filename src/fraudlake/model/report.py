"""The model report: PR-AUC, ROC-AUC, precision / recall / F1 at the threshold, and charts.

Training writes it for the validation period; `fraudlake evaluate` writes the same
for any labelled file, so every figure quoted for a model comes from one function.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    average_precision_score,
    confusion_matrix,
    precision_recall_curve,
    roc_auc_score,
)

from fraudlake.errors import FraudlakeError  # noqa: E402
from fraudlake.risk import RiskBands, RiskLevel  # noqa: E402


class EvaluationDataError(FraudlakeError, ValueError):
    """Labels a model cannot be judged on: without a fraud, or without a legitimate row."""


@dataclass(frozen=True)
class Report:
    title: str
    metrics: dict
    labels: np.ndarray
    probabilities: np.ndarray


def evaluate(labels: np.ndarray, probabilities: np.ndarray, bands: RiskBands, title: str) -> Report:
    labels = np.asarray(labels, dtype=np.int8)
    if labels.size == 0 or labels.min() == labels.max():
        # ROC-AUC is undefined and PR-AUC meaningless then; a report of NaNs would pass for one.
        raise EvaluationDataError(f"{title}: {labels.size:,} rows, {int(labels.sum()):,} frauds; "
                                  "a model is judged on rows with both frauds and legitimate transactions")
    predicted = probabilities >= bands.fraud_threshold
    tn, fp, fn, tp = confusion_matrix(labels, predicted, labels=[0, 1]).ravel()
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    levels = bands.levels(probabilities)
    metrics = {
        "rows": int(len(labels)),
        "frauds": int(labels.sum()),
        "pr_auc": float(average_precision_score(labels, probabilities)),
        "roc_auc": float(roc_auc_score(labels, probabilities)),
        "threshold": bands.fraud_threshold,
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(2 * precision * recall / (precision + recall)) if precision + recall else 0.0,
        "confusion": {"tp": int(tp), "fp": int(fp), "fn": int(fn), "tn": int(tn)},
        "risk_levels": {
            level.value: {"rows": int((levels == level.value).sum()), "frauds": int(labels[levels == level.value].sum())}
            for level in RiskLevel
        },
    }
    return Report(title=title, metrics=metrics, labels=labels, probabilities=np.asarray(probabilities))


def summary_lines(report: Report) -> list[str]:
    m = report.metrics
    c = m["confusion"]
    return [
        f"{report.title}: {m['rows']:,} rows, {m['frauds']:,} frauds",
        f"PR-AUC {m['pr_auc']:.4f}   ROC-AUC {m['roc_auc']:.4f}",
        f"at threshold {m['threshold']:.4f}: precision {m['precision']:.4f}  recall {m['recall']:.4f}  F1 {m['f1']:.4f}"
        f"  (tp {c['tp']}, fp {c['fp']}, fn {c['fn']})",
        "risk levels: " + ", ".join(f"{k} {v['rows']:,} rows / {v['frauds']:,} frauds" for k, v in m["risk_levels"].items()),
    ]


def _pr_curve(report: Report, path: Path) -> None:
    precision, recall, _ = precision_recall_curve(report.labels, report.probabilities)
    m = report.metrics
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.plot(recall, precision, lw=1.5, label=f"PR-AUC {m['pr_auc']:.3f}")
    ax.scatter([m["recall"]], [m["precision"]], color="crimson", zorder=3,
               label=f"threshold {m['threshold']:.3f}: P {m['precision']:.3f} R {m['recall']:.3f}")
    ax.axhline(m["frauds"] / max(m["rows"], 1), color="grey", ls="--", lw=1, label="fraud rate (no skill)")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title=report.title)
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _score_histogram(report: Report, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    bins = np.linspace(0, 1, 51)
    for label, name in ((0, "legitimate"), (1, "fraud")):
        ax.hist(report.probabilities[report.labels == label], bins=bins, alpha=0.6, label=name, log=True)
    ax.axvline(report.metrics["threshold"], color="crimson", lw=1, label="fraud threshold")
    ax.set(xlabel="fraud probability", ylabel="transactions (log)", title=report.title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(directory: Path, report: Report) -> list[Path]:
    """report.json, report.txt, pr_curve.png and score_histogram.png in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / name for name in ("report.json", "report.txt", "pr_curve.png", "score_histogram.png")]
    paths[0].write_text(json.dumps({"title": report.title, **report.metrics}, indent=2) + "\n")
    paths[1].write_text("\n".join(summary_lines(report)) + "\n")
    _pr_curve(report, paths[2])
    _score_histogram(report, paths[3])
    return paths
