"""The model's features, computed one way for training, evaluation and serving.

`build_features(transactions, history)` takes raw transactions in the Kaggle shape
and, optionally, earlier transactions of the same cards (`HISTORY_COLUMNS`). Each
transaction's history is every row of `transactions` and `history` of the same card
strictly earlier in time and within `HISTORY_WINDOW`; nothing at or after its own
time counts, so training on a whole file sees no future and the API, fed the card's
rows from PostgreSQL, computes exactly what training computed.

Rows present in both inputs (same `trans_num`) count once: a batch holds rows of its
own history. History may leave `trans_num` out when its rows are known to be
disjoint from the transactions (the API's query excludes the batch in SQL).

Both inputs are a DataFrame or a plain mapping of column name to array, and all
the work is numpy on whole columns: the API scores one transaction in well under a
millisecond this way, where building a DataFrame alone would cost more.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from fraudlake.errors import FraudlakeError

# Every per-card feature looks back at most this far, so the online lookup is one
# bounded, indexed range query per card rather than the card's whole life.
HISTORY_WINDOW = pd.Timedelta(days=7)

# What a history row carries; `trans_num` is optional (see the module's docstring).
HISTORY_COLUMNS: tuple[str, ...] = ("trans_num", "cc_num", "trans_date_trans_time", "amt")
_HISTORY_REQUIRED = HISTORY_COLUMNS[1:]

# A DataFrame, or a mapping of column name to equal-length arrays.
Columns = Mapping[str, ArrayLike] | pd.DataFrame

# What a transaction to be scored must carry.
INPUT_COLUMNS: tuple[str, ...] = (
    "trans_num", "cc_num", "trans_date_trans_time", "amt", "category", "gender", "dob",
    "city_pop", "lat", "long", "merch_lat", "merch_long",
)

# The Kaggle (Sparkov) categories. A fixed vocabulary keeps the category codes stable
# between training and serving; anything else is scored as a missing category.
CATEGORIES: tuple[str, ...] = (
    "entertainment", "food_dining", "gas_transport", "grocery_net", "grocery_pos",
    "health_fitness", "home", "kids_pets", "misc_net", "misc_pos", "personal_care",
    "shopping_net", "shopping_pos", "travel",
)

# name -> XGBoost feature type ("q" quantitative, "c" categorical), in model order.
FEATURES: dict[str, str] = {
    "amt": "q",
    "log_amt": "q",
    "hour": "q",
    "day_of_week": "q",
    "age_years": "q",
    "gender_male": "q",
    "category": "c",
    "city_pop": "q",
    "distance_km": "q",
    "secs_since_prev_txn": "q",
    "txn_count_1h": "q",
    "amt_sum_1h": "q",
    "txn_count_24h": "q",
    "amt_sum_24h": "q",
    "txn_count_7d": "q",
    "amt_to_card_avg_7d": "q",
}
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURES)

_EARTH_RADIUS_KM = 6371.0088
_GENDERS = ("F", "M")  # code 1.0 is male
_WINDOW_SECONDS = {"1h": 3600, "24h": 86400, "7d": int(HISTORY_WINDOW.total_seconds())}
# Card ids and epoch seconds packed into one sortable int64 key (cards above, time below).
_TIME_BITS = 36


_VOCABULARY_POSITIONS: dict[tuple[str, ...], dict[str, float]] = {}


class FeatureInputError(FraudlakeError, ValueError):
    """The transactions lack a column the features need."""


def _datetimes(values: ArrayLike, unit: str) -> np.ndarray:
    """datetime64[unit] as int64 (seconds or days since the epoch), wall-clock."""
    values = np.asarray(values)
    if values.dtype.kind != "M":  # text or objects: let pandas parse them
        values = np.asarray(pd.to_datetime(values))
    return values.astype(f"datetime64[{unit}]").astype(np.int64)


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, dtype=np.float64)) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


def _require(frame: Columns, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame]
    if missing:
        raise FeatureInputError(f"{what} lack column(s): {', '.join(missing)}")


def _codes(values: ArrayLike, vocabulary: tuple[str, ...]) -> np.ndarray:
    """Position in the vocabulary; NaN (missing, for XGBoost) when not in it."""
    positions = _VOCABULARY_POSITIONS.setdefault(vocabulary, {word: float(i) for i, word in enumerate(vocabulary)})
    # A dict lookup per value: pd.Categorical costs ~0.3 ms even for the API's one row.
    return np.fromiter((positions.get(value, np.nan) for value in values), dtype=np.float64, count=len(values))


def _row_features(tx: Columns, seconds: np.ndarray) -> dict[str, np.ndarray]:
    amt = np.asarray(tx["amt"], dtype=np.float64)
    days = seconds // 86400
    return {
        "amt": amt,
        "log_amt": np.log1p(np.clip(amt, 0, None)),
        "hour": ((seconds % 86400) // 3600).astype(np.float64),
        # 1970-01-01 was a Thursday; Monday = 0 as in pandas.
        "day_of_week": ((days + 3) % 7).astype(np.float64),
        "age_years": (days - _datetimes(tx["dob"], "D")) / 365.25,
        "gender_male": _codes(tx["gender"], _GENDERS),
        "category": _codes(tx["category"], CATEGORIES),
        "city_pop": np.asarray(tx["city_pop"], dtype=np.float64),
        "distance_km": haversine_km(tx["lat"], tx["long"], tx["merch_lat"], tx["merch_long"]),
    }


def _history_features(tx: Columns, seconds: np.ndarray, history: Columns | None) -> dict[str, np.ndarray]:
    """Per-card counts and sums over the rows strictly before each transaction."""
    tx_cards = np.asarray(tx["cc_num"], dtype=np.int64)
    tx_amounts = np.asarray(tx["amt"], dtype=np.float64)
    pool_ids = np.asarray(tx["trans_num"], dtype=object)
    pool_cards, pool_seconds, pool_amounts = tx_cards, seconds, tx_amounts
    if history is not None:
        _require(history, _HISTORY_REQUIRED, "history rows")
        history_cards = np.asarray(history["cc_num"], dtype=np.int64)
        if "trans_num" in history:
            pool_ids = np.concatenate([pool_ids, np.asarray(history["trans_num"], dtype=object)])
        pool_cards = np.concatenate([tx_cards, history_cards])
        pool_seconds = np.concatenate([seconds, _datetimes(history["trans_date_trans_time"], "s")])
        pool_amounts = np.concatenate([tx_amounts, np.asarray(history["amt"], dtype=np.float64)])
    # A row counts once: the first with its trans_num wins, so a transaction's own row
    # rather than its copy in the history. History rows without an id are all kept.
    duplicated = pd.Index(pool_ids).duplicated()
    if duplicated.any():
        keep = np.concatenate([~duplicated, np.ones(len(pool_cards) - len(pool_ids), dtype=bool)])
        pool_cards, pool_seconds, pool_amounts = pool_cards[keep], pool_seconds[keep], pool_amounts[keep]

    cards, pool_card_ids = np.unique(pool_cards, return_inverse=True)
    pool_keys = (pool_card_ids.astype(np.int64) << _TIME_BITS) + pool_seconds
    order = np.argsort(pool_keys, kind="stable")
    sorted_keys = pool_keys[order]
    amt_prefix = np.concatenate([[0.0], np.cumsum(pool_amounts[order])])

    keys = (np.searchsorted(cards, tx_cards).astype(np.int64) << _TIME_BITS) + seconds
    # First row at or after this transaction's time: everything before it is the past.
    end = np.searchsorted(sorted_keys, keys, side="left")
    out: dict[str, np.ndarray] = {}
    for label, width in _WINDOW_SECONDS.items():
        start = np.searchsorted(sorted_keys, keys - width, side="left")
        out[f"txn_count_{label}"] = (end - start).astype(np.float64)
        out[f"amt_sum_{label}"] = amt_prefix[end] - amt_prefix[start]

    previous = sorted_keys[np.maximum(end - 1, 0)]
    has_previous = out["txn_count_7d"] > 0
    out["secs_since_prev_txn"] = np.where(has_previous, keys - previous, np.nan).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        average = out["amt_sum_7d"] / out["txn_count_7d"]
        out["amt_to_card_avg_7d"] = np.where(has_previous, tx_amounts / average, np.nan)
    return out


def compute_features(transactions: Columns, history: Columns | None = None) -> dict[str, np.ndarray]:
    """`FEATURE_NAMES` in order, each a float64 array with one value per transaction."""
    _require(transactions, INPUT_COLUMNS, "transactions")
    seconds = _datetimes(transactions["trans_date_trans_time"], "s")
    values = _row_features(transactions, seconds) | _history_features(transactions, seconds, history)
    return {name: values[name] for name in FEATURE_NAMES}


def build_features(transactions: Columns, history: Columns | None = None) -> pd.DataFrame:
    """`compute_features` as a DataFrame, in the input's order and index."""
    return pd.DataFrame(compute_features(transactions, history), index=getattr(transactions, "index", None))


def feature_matrix(features: Columns) -> np.ndarray:
    """The features as the model takes them: float32, columns in FEATURE_NAMES order."""
    return np.column_stack([np.asarray(features[name], dtype=np.float32) for name in FEATURE_NAMES])
