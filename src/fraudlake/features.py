"""The model's features, computed one way for training, evaluation and serving.

`build_features(transactions, history)` takes raw transactions in the Kaggle shape
and, optionally, earlier transactions of the same cards (`HISTORY_COLUMNS`). Each
transaction's history is every row of `transactions` and `history` of the same card
strictly earlier in time and within `HISTORY_WINDOW`; nothing at or after its own
time counts, so training on a whole file sees no future and the API, fed the card's
rows from PostgreSQL, computes exactly what training computed.

Rows present in both inputs (same `trans_num`) count once: the API scores rows the
job already committed to `transactions`, and a batch holds rows of its own history.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Every per-card feature looks back at most this far, so the online lookup is one
# bounded, indexed range query per card rather than the card's whole life.
HISTORY_WINDOW = pd.Timedelta(days=7)

# What a history row must carry (the serving path selects exactly these).
HISTORY_COLUMNS: tuple[str, ...] = ("trans_num", "cc_num", "trans_date_trans_time", "amt")

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


class FeatureInputError(ValueError):
    """The transactions lack a column the features need."""


def _epoch_seconds(values) -> np.ndarray:
    return np.asarray(pd.to_datetime(values), dtype="datetime64[s]").astype(np.int64)


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, dtype=np.float64)) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise FeatureInputError(f"{what} lack column(s): {', '.join(missing)}")


def _codes(values: pd.Series, vocabulary: tuple[str, ...]) -> np.ndarray:
    """Position in the vocabulary; NaN (missing, for XGBoost) when not in it."""
    positions = _VOCABULARY_POSITIONS.setdefault(vocabulary, {word: float(i) for i, word in enumerate(vocabulary)})
    # A dict lookup per value: pd.Categorical costs ~0.3 ms even for the API's one row.
    return np.fromiter((positions.get(value, np.nan) for value in values), dtype=np.float64, count=len(values))


def _row_features(tx: pd.DataFrame, seconds: np.ndarray) -> dict[str, np.ndarray]:
    amt = tx["amt"].to_numpy(dtype=np.float64)
    days = seconds // 86400
    dob_days = np.asarray(pd.to_datetime(tx["dob"]), dtype="datetime64[D]").astype(np.int64)
    return {
        "amt": amt,
        "log_amt": np.log1p(np.clip(amt, 0, None)),
        "hour": ((seconds % 86400) // 3600).astype(np.float64),
        # 1970-01-01 was a Thursday; Monday = 0 as in pandas.
        "day_of_week": ((days + 3) % 7).astype(np.float64),
        "age_years": (days - dob_days) / 365.25,
        "gender_male": _codes(tx["gender"], _GENDERS),
        "category": _codes(tx["category"], CATEGORIES),
        "city_pop": tx["city_pop"].to_numpy(dtype=np.float64),
        "distance_km": haversine_km(tx["lat"], tx["long"], tx["merch_lat"], tx["merch_long"]),
    }


def _history_features(tx: pd.DataFrame, seconds: np.ndarray, history: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """Per-card counts and sums over the rows strictly before each transaction."""
    pool = tx[list(HISTORY_COLUMNS)]
    if history is not None and len(history):
        _require(history, HISTORY_COLUMNS, "history rows")
        earlier = history.loc[~history["trans_num"].isin(tx["trans_num"]), list(HISTORY_COLUMNS)]
        pool = pd.concat([pool, earlier], ignore_index=True)
    if not pool["trans_num"].is_unique:
        pool = pool.drop_duplicates("trans_num")

    card_ids, cards = pd.factorize(pool["cc_num"])
    pool_keys = (card_ids.astype(np.int64) << _TIME_BITS) + _epoch_seconds(pool["trans_date_trans_time"])
    order = np.argsort(pool_keys, kind="stable")
    sorted_keys = pool_keys[order]
    amt_prefix = np.concatenate([[0.0], np.cumsum(pool["amt"].to_numpy(dtype=np.float64)[order])])

    card_key = cards.get_indexer(tx["cc_num"]).astype(np.int64) << _TIME_BITS
    keys = card_key + seconds
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
        out["amt_to_card_avg_7d"] = np.where(has_previous, tx["amt"].to_numpy(dtype=np.float64) / average, np.nan)
    return out


def build_features(transactions: pd.DataFrame, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row of `FEATURE_NAMES` per transaction, in the input's order and index."""
    _require(transactions, INPUT_COLUMNS, "transactions")
    seconds = _epoch_seconds(transactions["trans_date_trans_time"])
    values = _row_features(transactions, seconds) | _history_features(transactions, seconds, history)
    return pd.DataFrame({name: values[name] for name in FEATURE_NAMES}, index=transactions.index)
