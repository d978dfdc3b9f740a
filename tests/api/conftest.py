from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fraudlake.kaggle import read_kaggle_csv
from fraudlake.model.io import FraudModel, load_model
from fraudlake.model.training import train
from fraudlake.producer.generator import generate
from tests.conftest import SAMPLE_CSV as SAMPLE



@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> FraudModel:
    """A real model, small and quick to train, standing in for the served one."""
    out: Path = tmp_path_factory.mktemp("tiny-model")
    train(generate(30000, seed=1), out, "generator:tiny", rounds=15, threads=1)
    return load_model(out)


@pytest.fixture(scope="session")
def sample() -> pd.DataFrame:
    return read_kaggle_csv(SAMPLE)
