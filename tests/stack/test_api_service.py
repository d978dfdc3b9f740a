"""The prediction API that the stack starts serves the default model, with the
history of the card read from PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from fraudlake import settings as cfg
from fraudlake.kaggle import read_kaggle_csv
from fraudlake.model.io import load_model
from tests.api.payloads import as_payload
from tests.conftest import SAMPLE_CSV

pytestmark = pytest.mark.stack


def test_the_stack_serves_predictions_with_database_history(full_stack):
    url = cfg.get_api_settings().api_url
    health = httpx.get(f"{url}/health", timeout=5).json()
    assert health["status"] == "ok" and health["database"]["ok"], health

    transaction = as_payload(read_kaggle_csv(SAMPLE_CSV, nrows=1))[0]
    response = httpx.post(f"{url}/predict/raw", json=transaction, timeout=10)
    assert response.status_code == 401  # the stack's API is not open to anyone
    response = httpx.post(f"{url}/predict/raw", json=transaction, timeout=10,
                          headers=cfg.get_api_settings().auth_headers())

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["trans_num"] == transaction["trans_num"]
    assert 0.0 <= body["fraud_probability"] <= 1.0
    assert body["risk_level"] in {"LOW", "MEDIUM", "HIGH"}
    assert body["model_version"] == load_model().version
