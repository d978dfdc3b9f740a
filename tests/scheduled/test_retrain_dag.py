"""The retraining DAG against the test stack's prediction API: the gate refuses a
model trained on shuffled labels, promotes a better one, and the API serves the
promoted model without a restart; `fraudlake model rollback` brings the previous back.

The data is a Delta table of generated transactions on local disk (the DAG's
`delta_uri`), so no Spark job has to fill silver first; reading silver on MinIO is
the same deltalake call."""

from __future__ import annotations

import json
import shutil

import httpx
import pytest
from deltalake import write_deltalake

from fraudlake import settings as cfg
from fraudlake.model.io import DEFAULT_MODEL_DIR
from fraudlake.model.registry import read_pointer, registry_root
from fraudlake.producer.generator import generate
from tests.scheduled.helpers import dags_test, fraudlake

pytestmark = [pytest.mark.stack]

DEFAULT_VERSION = json.loads((DEFAULT_MODEL_DIR / "metadata.json").read_text())["model_version"]
SMALL = {"RETRAIN_ROUNDS": "30"}  # seconds, not minutes, of training


def served_version(api: cfg.ApiSettings) -> str:
    response = httpx.get(f"{api.api_url}/model/info", headers=api.auth_headers(), timeout=10)
    response.raise_for_status()
    return response.json()["model_version"]


def reload(api: cfg.ApiSettings) -> str:
    response = httpx.post(f"{api.api_url}/model/reload", headers=api.auth_headers(), timeout=60)
    response.raise_for_status()
    return response.json()["model_version"]


def last_run() -> dict:
    return json.loads((registry_root() / "runs.jsonl").read_text().splitlines()[-1])


@pytest.fixture
def empty_registry(api_service):
    """No promoted model: the API serves the shipped default; the same again afterwards."""
    shutil.rmtree(registry_root(), ignore_errors=True)
    assert reload(api_service) == DEFAULT_VERSION
    yield registry_root()
    shutil.rmtree(registry_root(), ignore_errors=True)
    reload(api_service)


@pytest.fixture(scope="module")
def transactions_table(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("silver") / "transactions"
    # A seed whose latest fifth holds frauds (seed 7, say, has none there).
    write_deltalake(str(path), generate(20_000, seed=1))
    return str(path)


def test_the_gate_refuses_a_worse_model_promotes_a_better_one_and_the_api_serves_it(
        api_service, empty_registry, transactions_table):
    # A model that learnt nothing (shuffled labels) against the shipped default: refused.
    run = dags_test("fraudlake_retrain", {"delta_uri": transactions_table, "shuffle_training_labels": True}, env=SMALL)
    assert run.succeeded, run.task_output()[-5000:]
    refused = last_run()
    assert refused["promoted"] is False and refused["serving_version"] == DEFAULT_VERSION
    assert refused["candidate_pr_auc"] < refused["serving_pr_auc"]
    assert read_pointer()["current"] is None
    assert served_version(api_service) == DEFAULT_VERSION
    # Every run's report is kept, refused or not.
    comparison = empty_registry / "candidates" / refused["candidate"] / "comparison"
    assert (comparison / "pr_curves.png").stat().st_size > 0
    assert json.loads((comparison / "decision.json").read_text())["promoted"] is False

    # An operator serves that weak model anyway (`model promote`, no gate)…
    promoted = fraudlake("model", "promote", refused["candidate"])
    assert promoted.returncode == 0, promoted.stderr
    assert served_version(api_service) == refused["candidate_version"]

    # …and the next retraining, on true labels, beats it by the margin: promoted, served.
    run = dags_test("fraudlake_retrain", {"delta_uri": transactions_table}, env=SMALL)
    assert run.succeeded, run.task_output()[-5000:]
    better = last_run()
    assert better["promoted"] is True and better["serving_version"] == refused["candidate_version"]
    assert better["candidate_pr_auc"] >= better["serving_pr_auc"] + cfg.get_model_settings().retrain_promotion_margin
    assert read_pointer() == {"current": better["candidate"], "previous": refused["candidate"]}
    assert served_version(api_service) == better["candidate_version"]
    assert f"prediction API now serves {better['candidate_version']}" in run.output

    # Rollback: the previous model is served again.
    rolled = fraudlake("model", "rollback")
    assert rolled.returncode == 0, rolled.stderr
    assert served_version(api_service) == refused["candidate_version"]
