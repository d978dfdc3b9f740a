"""The features: hand-checked values, point in time, and one path for training and serving."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraudlake.features import (
    CATEGORIES,
    FEATURE_NAMES,
    HISTORY_COLUMNS,
    INPUT_COLUMNS,
    FeatureInputError,
    build_features,
    compute_features,
    haversine_km,
)
from fraudlake.kaggle import read_kaggle_csv
from fraudlake.producer.generator import generate
from tests.conftest import SAMPLE_CSV as SAMPLE



@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return read_kaggle_csv(SAMPLE)


@pytest.fixture(scope="module")
def generated() -> pd.DataFrame:
    # Dense cards (many rows each over a few days), so the windows hold real history.
    return generate(6000, seed=3, customers=12, days=20)


def _card_rows(times: list[str], amounts: list[float], card: int = 42) -> pd.DataFrame:
    base = read_kaggle_csv(SAMPLE, nrows=1)
    rows = pd.concat([base] * len(times), ignore_index=True)
    rows["cc_num"] = card
    rows["trans_date_trans_time"] = pd.to_datetime(times)
    rows["amt"] = amounts
    rows["trans_num"] = [f"t{i}" for i in range(len(times))]
    return rows


def test_history_features_by_hand():
    rows = _card_rows(
        ["2020-01-01 00:00:00", "2020-01-01 10:00:00", "2020-01-01 10:30:00", "2020-01-01 10:30:00", "2020-01-09 10:30:00"],
        [10.0, 20.0, 30.0, 40.0, 50.0],
    )
    f = build_features(rows)
    assert f["txn_count_1h"].tolist() == [0, 0, 1, 1, 0]
    assert f["amt_sum_1h"].tolist() == [0, 0, 20, 20, 0]
    # Same-second rows are not each other's past.
    assert f["txn_count_24h"].tolist() == [0, 1, 2, 2, 0]
    assert f["amt_sum_24h"].tolist() == [0, 10, 30, 30, 0]
    assert f["secs_since_prev_txn"].tolist()[1:4] == [36000, 1800, 1800]
    # Nothing in the 7 days before: no previous transaction and no average.
    assert np.isnan(f["secs_since_prev_txn"].iloc[0]) and np.isnan(f["secs_since_prev_txn"].iloc[4])
    assert f["amt_to_card_avg_7d"].iloc[2] == pytest.approx(30 / 15)
    assert np.isnan(f["amt_to_card_avg_7d"].iloc[4])


def test_row_features(sample):
    f = build_features(sample.head(1))
    row = sample.iloc[0]  # 2019-01-01 00:00:18, a Tuesday; born 1988-03-09; misc_net; F
    assert f["hour"].iloc[0] == 0 and f["day_of_week"].iloc[0] == 1
    assert f["age_years"].iloc[0] == pytest.approx(30.8, abs=0.05)
    assert f["gender_male"].iloc[0] == 0
    assert f["category"].iloc[0] == CATEGORIES.index("misc_net")
    assert f["log_amt"].iloc[0] == pytest.approx(np.log1p(row["amt"]))
    assert f["distance_km"].iloc[0] == pytest.approx(
        haversine_km(row["lat"], row["long"], row["merch_lat"], row["merch_long"]))
    assert list(f.columns) == list(FEATURE_NAMES)


def test_haversine_known_distance():
    # Paris to London, about 344 km.
    assert haversine_km(48.8566, 2.3522, 51.5074, -0.1278) == pytest.approx(343.5, abs=1.5)


def test_unknown_category_and_gender_are_missing_not_errors(sample):
    rows = sample.head(2).copy()
    rows["category"] = ["crypto_atm", "travel"]
    rows["gender"] = ["X", "M"]
    f = build_features(rows)
    assert np.isnan(f["category"].iloc[0]) and f["category"].iloc[1] == CATEGORIES.index("travel")
    assert np.isnan(f["gender_male"].iloc[0]) and f["gender_male"].iloc[1] == 1


def test_missing_column_is_named(sample):
    with pytest.raises(FeatureInputError, match="dob"):
        build_features(sample.drop(columns=["dob"]))


def test_features_never_depend_on_later_transactions(generated):
    ordered = generated.sort_values("trans_date_trans_time").reset_index(drop=True)
    full = build_features(ordered)
    cut = len(ordered) // 2
    cut_time = ordered["trans_date_trans_time"].iloc[cut]
    earlier = ordered[ordered["trans_date_trans_time"] < cut_time]
    # The future changed beyond recognition: amounts multiplied, rows duplicated.
    future = ordered[ordered["trans_date_trans_time"] >= cut_time].copy()
    future["amt"] *= 100
    extra = future.assign(trans_num=future["trans_num"] + "-dup")
    altered = pd.concat([earlier, future, extra], ignore_index=True).sample(frac=1, random_state=0)
    again = build_features(altered).loc[altered.index < len(earlier)].sort_index()
    pd.testing.assert_frame_equal(again, full.iloc[: len(earlier)])
    assert full["txn_count_24h"].iloc[: len(earlier)].sum() > 0  # the check compared real history


def test_serving_path_equals_training_path(generated):
    """A batch scored with its history passed separately (the API) gets the training features."""
    ordered = generated.sort_values("trans_date_trans_time").reset_index(drop=True)
    training = build_features(ordered)
    batch = ordered.iloc[-500:]
    # What the database returns: every earlier row of the batch's cards, including
    # rows of the batch itself (already committed), in no particular order.
    history = ordered.loc[ordered["cc_num"].isin(batch["cc_num"]), list(HISTORY_COLUMNS)].sample(frac=1, random_state=1)
    serving = build_features(batch.sample(frac=1, random_state=2), history).loc[batch.index]
    pd.testing.assert_frame_equal(serving, training.loc[batch.index])
    assert (serving["txn_count_7d"] > 0).mean() > 0.5


def test_batch_is_order_independent(sample):
    shuffled = sample.sample(frac=1, random_state=5)
    pd.testing.assert_frame_equal(build_features(shuffled).sort_index(), build_features(sample))


def test_columns_as_plain_arrays_and_history_without_ids(generated):
    """What the API passes: a dict of numpy arrays (times as datetime64[s]) and history
    rows that leave out `trans_num` because the query already excluded the batch."""
    ordered = generated.sort_values("trans_date_trans_time").reset_index(drop=True)
    batch = ordered.iloc[-300:]
    earlier = ordered.iloc[:-300]
    earlier = earlier[earlier["cc_num"].isin(batch["cc_num"])]
    columns = {name: batch[name].to_numpy() for name in INPUT_COLUMNS}
    columns["trans_date_trans_time"] = columns["trans_date_trans_time"].astype("datetime64[s]")
    history = {name: earlier[name].to_numpy() for name in ("cc_num", "trans_date_trans_time", "amt")}
    served = pd.DataFrame(compute_features(columns, history), index=batch.index)
    pd.testing.assert_frame_equal(served, build_features(ordered).loc[batch.index])
    assert (served["txn_count_7d"] > 0).mean() > 0.5
