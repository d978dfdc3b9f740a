"""Training, model I/O and the report, through the `fraudlake train` / `evaluate` commands."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from fraudlake.cli import main
from fraudlake.features import FEATURE_NAMES, build_features
from fraudlake.kaggle import read_kaggle_csv
from fraudlake.model.data import read_delta_transactions
from fraudlake.model.io import ModelLoadError, load_model
from fraudlake.model.report import evaluate
from fraudlake.model.training import chronological_split, data_hash
from fraudlake.producer.generator import generate
from tests.conftest import SAMPLE_CSV as SAMPLE



@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    result = CliRunner().invoke(main, ["train", "--generate", "30000", "--seed", "1", "--rounds", "30", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_train_writes_model_metadata_and_report(trained):
    out, output = trained
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["features"] == list(FEATURE_NAMES)
    assert metadata["model_version"].startswith("xgb-") and metadata["model_version"] in output
    assert 0 < metadata["risk_bands"]["MEDIUM"] == metadata["fraud_threshold"] <= metadata["risk_bands"]["HIGH"] <= 1
    assert metadata["training_data"]["sha256"] == data_hash(generate(30000, seed=1))
    train_end, validation_start = metadata["training_data"]["train_period"][1], metadata["training_data"]["validation_period"][0]
    assert train_end < validation_start
    for name in ("report.json", "report.txt", "pr_curve.png", "score_histogram.png"):
        assert (out / "report" / name).stat().st_size > 0
    assert (out / "report" / "pr_curve.png").read_bytes().startswith(b"\x89PNG")
    report = json.loads((out / "report" / "report.json").read_text())
    assert report["pr_auc"] > 0.5 and report["roc_auc"] > 0.9, report
    assert report["rows"] == pytest.approx(6000, rel=0.01)  # the later 20 %, not resampled
    assert json.loads((out / "model.json").read_text())["learner"]  # xgboost's native JSON


def test_training_is_reproducible(trained, tmp_path):
    out, _ = trained
    result = CliRunner().invoke(main, ["train", "--generate", "30000", "--seed", "1", "--rounds", "30", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "model.json").read_bytes() == (out / "model.json").read_bytes()


def test_saved_model_scores_like_its_report(trained):
    out, _ = trained
    model = load_model(out)
    transactions = generate(30000, seed=1).sort_values("trans_date_trans_time", kind="stable").reset_index(drop=True)
    split = chronological_split(transactions["trans_date_trans_time"], 0.2)
    probabilities = model.predict_proba(build_features(transactions))[split.validation]
    report = json.loads((out / "report" / "report.json").read_text())
    predicted = probabilities >= model.bands.fraud_threshold
    assert int(predicted.sum()) == report["confusion"]["tp"] + report["confusion"]["fp"]


def test_chronological_split_keeps_equal_times_together():
    times = pd.Series(pd.to_datetime(["2020-01-01"] * 3 + ["2020-01-02"] * 5 + ["2020-01-03"] * 2))
    split = chronological_split(times, 0.5)
    assert times[split.train].max() < times[split.validation].min()
    assert split.validation.sum() == 7


def test_evaluate_reports_on_a_csv(trained, tmp_path):
    out, _ = trained
    result = CliRunner().invoke(main, ["evaluate", "--csv", SAMPLE, "--model", str(out), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["rows"] == 5039 and report["frauds"] == 22
    assert "PR-AUC" in result.output and (tmp_path / "pr_curve.png").exists()


def test_train_on_the_kaggle_csv(tmp_path):
    result = CliRunner().invoke(main, ["train", "--csv", SAMPLE, "--rounds", "10", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "metadata.json").read_text())["training_data"]["rows"] == 5039


def test_train_on_a_delta_table(tmp_path):
    from deltalake import write_deltalake

    frame = read_kaggle_csv(SAMPLE)
    write_deltalake(str(tmp_path / "silver"), frame.assign(amt=frame["amt"].round(2)))
    loaded = read_delta_transactions(str(tmp_path / "silver"))
    assert data_hash(loaded) == data_hash(frame)
    result = CliRunner().invoke(main, ["train", "--delta", str(tmp_path / "silver"), "--rounds", "5", "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output


def test_train_refuses_a_period_without_fraud(tmp_path, generated_without_late_fraud):
    path = tmp_path / "no-late-fraud.csv"
    generated_without_late_fraud.to_csv(path)
    result = CliRunner().invoke(main, ["train", "--csv", str(path), "--out", str(tmp_path / "m")])
    assert result.exit_code == 2 and "validation period" in result.output


@pytest.fixture
def generated_without_late_fraud():
    frame = read_kaggle_csv(SAMPLE)
    late = frame["trans_date_trans_time"] >= frame["trans_date_trans_time"].quantile(0.7)
    frame.loc[late, "is_fraud"] = 0
    frame["trans_date_trans_time"] = frame["trans_date_trans_time"].dt.strftime("%Y-%m-%d %H:%M:%S")
    frame["dob"] = frame["dob"].dt.strftime("%Y-%m-%d")
    return frame


def test_load_refuses_a_model_with_other_features(trained, tmp_path):
    out, _ = trained
    metadata = json.loads((out / "metadata.json").read_text())
    metadata["features"] = metadata["features"][::-1]
    (tmp_path / "metadata.json").write_text(json.dumps(metadata))
    (tmp_path / "model.json").write_bytes((out / "model.json").read_bytes())
    with pytest.raises(ModelLoadError, match="retrain"):
        load_model(tmp_path)
    with pytest.raises(ModelLoadError, match="cannot load"):
        load_model(tmp_path / "absent")


# The shipped model scores the real sample at ROC-AUC 0.998 and PR-AUC 0.85 (22 frauds
# in 5,039 rows); the floors leave room for a retrained model, none for a useless one.
ROC_AUC_FLOOR = 0.95
PR_AUC_FLOOR = 0.60


def quality_problems(labels: np.ndarray, probabilities: np.ndarray, bands) -> list[str]:
    metrics = evaluate(labels, probabilities, bands, "quality").metrics
    return [f"{name} {metrics[name]:.3f} < {floor}" for name, floor in (("roc_auc", ROC_AUC_FLOOR), ("pr_auc", PR_AUC_FLOOR))
            if metrics[name] < floor]


def test_default_model_ranks_the_real_sample_well():
    model = load_model()
    sample = read_kaggle_csv(SAMPLE)
    labels = sample["is_fraud"].to_numpy(dtype=np.int8)
    probabilities = model.predict_proba(build_features(sample))
    assert probabilities.shape == (5039,) and np.all((0 <= probabilities) & (probabilities <= 1))
    assert quality_problems(labels, probabilities, model.bands) == []
    # The same check rejects a model that has learnt nothing: constant or random scores.
    assert len(quality_problems(labels, np.full(labels.size, 0.5), model.bands)) == 2
    assert len(quality_problems(labels, np.random.default_rng(0).random(labels.size), model.bands)) == 2
