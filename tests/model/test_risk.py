from __future__ import annotations

import numpy as np
import pytest

from fraudlake.risk import HIGH_PRECISION, RiskBands, RiskBandsError, RiskLevel, choose_bands


def test_levels_at_the_boundaries():
    bands = RiskBands(medium=0.3, high=0.8)
    assert bands.levels(np.array([0.0, 0.2999, 0.3, 0.79, 0.8, 1.0])).tolist() == [
        "LOW", "LOW", "MEDIUM", "MEDIUM", "HIGH", "HIGH"]
    assert bands.level(0.5) is RiskLevel.MEDIUM


def test_bands_round_trip_through_metadata():
    bands = RiskBands(medium=0.25, high=0.9)
    assert RiskBands.from_metadata(bands.to_metadata()) == bands
    with pytest.raises(RiskBandsError):
        RiskBands.from_metadata({"fraud_threshold": 0.5})
    with pytest.raises(RiskBandsError):
        RiskBands(medium=0.9, high=0.2)


def test_choose_bands_maximises_f1_and_puts_high_where_precision_is_high():
    rng = np.random.default_rng(0)
    labels = rng.random(20000) < 0.01
    probabilities = np.clip(np.where(labels, rng.normal(0.7, 0.2, labels.size), rng.beta(1, 30, labels.size)), 0, 1)
    bands = choose_bands(labels, probabilities)
    f1 = lambda t: 2 * (labels & (probabilities >= t)).sum() / ((probabilities >= t).sum() + labels.sum())  # noqa: E731
    assert all(f1(bands.medium) >= f1(t) - 1e-12 for t in np.linspace(0.01, 0.99, 99))
    assert bands.high >= bands.medium
    assert labels[probabilities >= bands.high].mean() >= HIGH_PRECISION
