import re

import numpy as np
import pandas as pd

from fraudlake.kaggle import read_kaggle_csv
from fraudlake.producer.generator import generate, write_kaggle_csv
from fraudlake.schema import COLUMN_NAMES

from tests.producer.helpers import SAMPLE

NIGHT = [22, 23, 0, 1, 2, 3]


def test_same_seed_same_rows_other_seed_other_rows():
    pd.testing.assert_frame_equal(generate(3_000, seed=7), generate(3_000, seed=7))
    assert not generate(3_000, seed=7)["trans_num"].equals(generate(3_000, seed=8)["trans_num"])


def test_schema_types_and_order_match_the_kaggle_reader():
    frame = generate(2_000, seed=1)
    assert tuple(frame.columns) == COLUMN_NAMES
    assert frame.dtypes.to_dict() == read_kaggle_csv(SAMPLE, nrows=5).dtypes.to_dict()
    assert frame["trans_date_trans_time"].is_monotonic_increasing
    assert frame["trans_num"].is_unique
    assert frame["trans_num"].str.fullmatch(r"[0-9a-f]{32}").all()
    assert frame["merchant"].str.startswith("fraud_").all()


def test_csv_round_trip_is_exact_and_in_the_kaggle_format(tmp_path):
    frame = generate(5_000, seed=2)
    path = tmp_path / "generated.csv"
    write_kaggle_csv(frame, path)
    pd.testing.assert_frame_equal(read_kaggle_csv(path), frame)
    lines = path.read_text().splitlines()
    assert lines[0] == SAMPLE.open().readline().rstrip("\n")
    assert lines[1].startswith("0,") and lines[-1].startswith("4999,")
    assert any(re.search(r',"[^"]*, [^"]*",', line) for line in lines[1:]), "fields with commas are quoted"


def test_unix_time_is_the_transaction_time_seven_years_earlier():
    frame = generate(500, seed=3)
    shifted = frame["trans_date_trans_time"] - pd.DateOffset(years=7)
    assert (frame["unix_time"] == (shifted - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)).all()


def test_fraud_statistics_are_calibrated_to_fraud_train():
    frame = generate(300_000, seed=11)
    fraud = frame[frame["is_fraud"] == 1]
    legit = frame[frame["is_fraud"] == 0]
    assert 0.0050 <= len(fraud) / len(frame) <= 0.0066  # fraudTrain.csv: 0.58 %
    assert 5 <= fraud["amt"].mean() / legit["amt"].mean() <= 12  # fraudTrain.csv: about 7.9
    assert 55 <= legit["amt"].mean() <= 80  # fraudTrain.csv: 67.7
    assert fraud["trans_date_trans_time"].dt.hour.isin(NIGHT).mean() >= 0.75  # fraudTrain.csv: 85 %
    assert legit["trans_date_trans_time"].dt.hour.isin(NIGHT).mean() <= 0.25
    online_and_grocery = fraud["category"].isin(["shopping_net", "grocery_pos", "misc_net"]).mean()
    assert online_and_grocery >= 0.5


def test_fraud_comes_in_episodes_on_a_few_cards():
    frame = generate(300_000, seed=11)
    fraud = frame[frame["is_fraud"] == 1]
    per_card = fraud.groupby("cc_num").size()
    assert per_card.median() >= 3
    spans = fraud.groupby("cc_num")["trans_date_trans_time"].agg(lambda t: t.max() - t.min())
    assert (spans[per_card > 1] <= pd.Timedelta(days=6)).mean() >= 0.8


def test_velocity_option_puts_a_burst_on_one_card():
    frame = generate(20_000, seed=5, velocity_cards=1, velocity_burst=40, velocity_window_s=300)
    assert len(frame) == 20_000
    fraud = frame[frame["is_fraud"] == 1]
    counts = fraud.set_index("trans_date_trans_time").groupby("cc_num")["amt"].rolling("300s").count()
    assert counts.max() >= 40


def test_million_rows_are_quick():
    import time

    start = time.monotonic()
    frame = generate(1_000_000, seed=0)
    assert len(frame) == 1_000_000
    assert time.monotonic() - start < 30
    assert np.isclose(frame["is_fraud"].mean(), 0.0058, atol=0.0005)
