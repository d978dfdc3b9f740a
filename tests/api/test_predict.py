"""The API contract, with a tiny real model swapped in through dependency overrides."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from .payloads import as_payload
from fraudlake.api import create_app
from fraudlake.api.deps import get_history, get_model
from fraudlake.api.schemas import RawTransaction
from fraudlake.features import FEATURE_NAMES, INPUT_COLUMNS
from fraudlake.model.io import METADATA_FILE, load_model
from fraudlake.settings import ApiSettings


def _client(model, **settings) -> TestClient:
    app = create_app(ApiSettings(api_history_lookup=False, **settings))
    app.dependency_overrides[get_model] = lambda: model
    app.dependency_overrides[get_history] = lambda: None
    return TestClient(app, headers=app.state.settings.auth_headers())


@pytest.fixture
def client(tiny_model):
    with _client(tiny_model, api_batch_limit=50) as c:
        yield c


def test_single_prediction_shape_and_values(client, tiny_model, sample):
    row = sample.iloc[[10]]
    response = client.post("/predict/raw", json=as_payload(row)[0])
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"trans_num", "fraud_probability", "is_fraud", "risk_level", "model_version", "top_features"}
    assert body["trans_num"] == row["trans_num"].iloc[0]
    assert body["model_version"] == tiny_model.version
    assert body["fraud_probability"] == pytest.approx(float(tiny_model.score(row).probabilities[0]), rel=1e-6)
    assert body["is_fraud"] == (body["fraud_probability"] >= tiny_model.bands.fraud_threshold)
    assert body["risk_level"] == tiny_model.bands.level(body["fraud_probability"]).value
    assert len(body["top_features"]) == 3 and {f["feature"] for f in body["top_features"]} <= set(FEATURE_NAMES)


def test_batch_keeps_order_and_uses_the_batch_as_history(client, tiny_model, sample):
    rows = sample.iloc[:40].sample(frac=1, random_state=3)
    response = client.post("/predict/raw/batch", json=as_payload(rows))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [p["trans_num"] for p in body] == rows["trans_num"].tolist()
    expected = tiny_model.score(rows).probabilities
    assert [p["fraud_probability"] for p in body] == pytest.approx(expected.tolist(), rel=1e-6)


def test_batch_explains_the_rows_judged_fraud_unless_asked_for_all(client, sample):
    rows = pd.concat([sample[sample["is_fraud"] == 1].head(20), sample[sample["is_fraud"] == 0].head(20)])
    flagged_only = client.post("/predict/raw/batch", json=as_payload(rows)).json()
    assert any(p["is_fraud"] for p in flagged_only) and not all(p["is_fraud"] for p in flagged_only)
    for prediction in flagged_only:
        assert len(prediction["top_features"]) == (3 if prediction["is_fraud"] else 0)

    explained = client.post("/predict/raw/batch", params={"explain": "all"}, json=as_payload(rows)).json()
    assert all(len(p["top_features"]) == 3 for p in explained)
    assert [p["fraud_probability"] for p in explained] == [p["fraud_probability"] for p in flagged_only]
    assert client.post("/predict/raw/batch", params={"explain": "some"}, json=as_payload(rows)).status_code == 422


def test_batch_over_the_limit_is_413(client, sample):
    response = client.post("/predict/raw/batch", json=as_payload(sample.iloc[:51]))
    assert response.status_code == 413 and "50" in response.json()["detail"]
    assert client.post("/predict/raw/batch", json=[]).json() == []


def test_invalid_payload_names_the_field(client, sample):
    row = as_payload(sample.iloc[[0]])[0]
    bad = row | {"amt": "lots"}
    response = client.post("/predict/raw", json=bad)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "amt"]
    missing = {k: v for k, v in row.items() if k != "cc_num"}
    response = client.post("/predict/raw/batch", json=[row, missing])
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", 1, "cc_num"]


def test_unknown_category_is_scored(client, sample):
    row = as_payload(sample.iloc[[0]])[0] | {"category": "crypto_atm", "gender": "U"}
    response = client.post("/predict/raw", json=row)
    assert response.status_code == 200 and 0 <= response.json()["fraud_probability"] <= 1


def test_bearer_token(tiny_model, sample):
    row = as_payload(sample.iloc[[0]])[0]
    with _client(tiny_model, api_token=SecretStr("s3cret")) as c:
        del c.headers["authorization"]
        assert c.post("/predict/raw", json=row).status_code == 401
        assert c.post("/predict/raw", json=row, headers={"Authorization": "Bearer nope"}).status_code == 401
        assert c.post("/predict/raw", json=row, headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/model/info").status_code == 401
        assert c.get("/health").status_code == 200  # probes need no token


def test_health_model_info_and_metrics(client, tiny_model, sample):
    health = client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    # /health reports the model the app serves (the override), not the one it loaded at startup.
    assert health.json()["model"]["detail"] == tiny_model.version != load_model().version
    info = client.get("/model/info").json()
    assert info["model_version"] == tiny_model.version and info["features"] == list(FEATURE_NAMES)
    assert info["risk_bands"]["MEDIUM"] == info["fraud_threshold"] and info["history_lookup"] is False
    client.post("/predict/raw/batch", json=as_payload(sample.iloc[:7]))
    metrics = client.get("/metrics").text
    scored = sum(float(line.split()[-1]) for line in metrics.splitlines()
                 if line.startswith("fraudlake_api_transactions_scored_total"))
    assert scored == 7
    assert 'fraudlake_api_request_seconds_count{endpoint="batch"} 1.0' in metrics


def test_health_without_a_model_is_503(tmp_path):
    settings = ApiSettings(api_history_lookup=False)
    with TestClient(create_app(settings, model_dir=tmp_path), headers=settings.auth_headers()) as c:
        response = c.get("/health")
        assert response.status_code == 503 and response.json()["model"]["ok"] is False
        assert c.get("/model/info").status_code == 503


def test_a_model_without_risk_bands_leaves_the_api_up_saying_why(tmp_path, tiny_model):
    shutil.copytree(tiny_model.directory, tmp_path, dirs_exist_ok=True)
    metadata = json.loads((tmp_path / METADATA_FILE).read_text())
    del metadata["risk_bands"]
    (tmp_path / METADATA_FILE).write_text(json.dumps(metadata))
    settings = ApiSettings(api_history_lookup=False)
    with TestClient(create_app(settings, model_dir=tmp_path), headers=settings.auth_headers()) as c:
        response = c.get("/health")
        assert response.status_code == 503 and "risk_bands" in response.json()["model"]["detail"]
        assert c.post("/predict/raw/batch", json=[]).status_code == 503


def test_request_schema_carries_exactly_the_feature_inputs():
    # The struct the API decodes and the columns the features read are kept in step.
    assert set(RawTransaction.__struct_fields__) == set(INPUT_COLUMNS)
    schema = create_app(ApiSettings(api_history_lookup=False)).openapi()
    body = schema["paths"]["/predict/raw/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["type"] == "array" and set(body["items"]["required"]) == set(INPUT_COLUMNS)
    assert schema["paths"]["/predict/raw"]["post"]["requestBody"]["required"] is True


def test_malformed_or_misshapen_bodies_are_422(client, sample):
    response = client.post("/predict/raw", content=b'{"trans_num": "x",', headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["detail"][0]["type"] == "json_invalid"
    row = as_payload(sample.iloc[[0]])[0]
    assert client.post("/predict/raw", json=[row]).status_code == 422  # a list where one object belongs
    assert client.post("/predict/raw/batch", json=row).status_code == 422  # and the other way round
    response = client.post("/predict/raw", json=row | {"lat": 91.0})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "lat"]
    assert "<= 90" in response.json()["detail"][0]["msg"]


def test_time_zone_is_ignored_and_extra_fields_too(client, sample):
    row = as_payload(sample.iloc[[3]])[0]
    plain = client.post("/predict/raw", json=row).json()
    zoned = client.post("/predict/raw", json=row | {
        "trans_date_trans_time": row["trans_date_trans_time"].replace(" ", "T") + "+05:00",
        "merchant": 17, "something_else": [1, 2]}).json()
    assert zoned == plain


def test_model_reload_serves_the_new_model_keeps_the_old_on_failure_and_needs_the_token(tmp_path, tiny_model):
    import shutil

    from fraudlake.model.io import DEFAULT_MODEL_DIR

    served = tmp_path / "served"
    shutil.copytree(DEFAULT_MODEL_DIR, served)
    settings = ApiSettings(api_history_lookup=False)
    with TestClient(create_app(settings, model_dir=served), headers=settings.auth_headers()) as c:
        default_version = c.get("/model/info").json()["model_version"]
        assert default_version != tiny_model.version
        assert c.post("/model/reload", headers={"Authorization": "Bearer nope"}).status_code == 401

        shutil.rmtree(served)
        shutil.copytree(tiny_model.directory, served)
        reloaded = c.post("/model/reload")
        assert reloaded.status_code == 200 and reloaded.json()["model_version"] == tiny_model.version
        assert c.get("/model/info").json()["model_version"] == tiny_model.version

        (served / "model.json").write_text("not a model")
        assert c.post("/model/reload").status_code == 409
        assert c.get("/model/info").json()["model_version"] == tiny_model.version  # the old one stays
