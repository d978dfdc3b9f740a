"""Risk levels LOW / MEDIUM / HIGH from a fraud probability.

The bands are chosen once, at training time, on the validation period, and saved in
the model's metadata; the API, the prediction job and the dashboard all read them
from there through `RiskBands.from_metadata`, so a level means the same everywhere.

MEDIUM starts at the fraud threshold (every transaction predicted fraud is MEDIUM
or HIGH, so every alert has a level); HIGH starts where validation precision
reaches `HIGH_PRECISION`, i.e. where an alert is nearly always a real fraud.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from fraudlake.errors import FraudlakeError

HIGH_PRECISION = 0.95


class RiskLevel(str, Enum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"

    @property
    def rank(self) -> int:
        """0 for LOW, 1 for MEDIUM, 2 for HIGH: levels compare by rank."""
        return list(RiskLevel).index(self)

    def levels_from(self) -> list[str]:
        """This level and every level above it, as their names (for SQL `= ANY`)."""
        return [level.value for level in RiskLevel if level.rank >= self.rank]


class RiskBandsError(FraudlakeError, ValueError):
    """Model metadata without usable risk bands."""


@dataclass(frozen=True)
class RiskBands:
    medium: float  # the fraud threshold
    high: float

    def __post_init__(self):
        if not 0.0 <= self.medium <= self.high <= 1.0:
            raise RiskBandsError(f"risk bands must satisfy 0 <= medium <= high <= 1, got medium={self.medium} high={self.high}")

    @property
    def fraud_threshold(self) -> float:
        return self.medium

    def levels(self, probabilities: np.ndarray) -> np.ndarray:
        """The level of each probability, as an array of strings."""
        names = np.array([RiskLevel.LOW.value, RiskLevel.MEDIUM.value, RiskLevel.HIGH.value], dtype=object)
        return names[np.searchsorted([self.medium, self.high], np.asarray(probabilities), side="right")]

    def level(self, probability: float) -> RiskLevel:
        return RiskLevel(self.levels(np.array([probability]))[0])

    def to_metadata(self) -> dict:
        return {"fraud_threshold": self.medium, "risk_bands": {"MEDIUM": self.medium, "HIGH": self.high}}

    @classmethod
    def from_metadata(cls, metadata: dict) -> RiskBands:
        try:
            bands = metadata["risk_bands"]
            return cls(medium=float(bands["MEDIUM"]), high=float(bands["HIGH"]))
        except (KeyError, TypeError) as exc:
            raise RiskBandsError(f"model metadata has no risk_bands.MEDIUM / risk_bands.HIGH ({exc!r})") from exc


def choose_bands(y_true: np.ndarray, probabilities: np.ndarray) -> RiskBands:
    """The fraud threshold that maximises F1, and the HIGH band above it."""
    # Imported here: only training needs scikit-learn, and settings import this module.
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(y_true, probabilities)
    # precision/recall have one more entry than thresholds (the point at recall 0).
    precision, recall = precision[:-1], recall[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    best = int(np.argmax(f1))
    medium = float(thresholds[best])
    precise = (precision >= HIGH_PRECISION) & (thresholds >= medium)
    high = float(thresholds[np.argmax(precise)]) if precise.any() else float(max(medium, thresholds[-1]))
    return RiskBands(medium=medium, high=high)
