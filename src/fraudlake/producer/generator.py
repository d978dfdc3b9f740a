"""Synthetic transactions in exactly the Kaggle fraudTrain.csv schema.

In the spirit of the Sparkov generator that made the Kaggle file: customers with a
home, a job, a birth date and a card; legitimate spending whose category, amount and
hour depend on the category and the customer; fraud as episodes in which a
compromised card makes a run of unusual purchases over one to a few nights, in the
categories and at the amounts fraudsters favour. The shares, amounts and hours are
calibrated to the published statistics of fraudTrain.csv (0.58 % fraud, fraud
amounts about eight times legitimate ones, 85 % of fraud between 22:00 and 03:59).

Everything is vectorised numpy and driven by one seeded generator, so a seed gives
the same frame every time and a million rows take seconds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from typing import IO

import numpy as np
import pandas as pd
from tqdm import tqdm

from fraudlake.kaggle import PANDAS_DTYPES
from fraudlake.producer import vocabulary as vocab
from fraudlake.schema import COLUMN_NAMES, DATE_FORMAT, TIMESTAMP_FORMAT, TRANSACTION_COLUMNS

DAY = 86_400
START = "2019-01-01"
TRANSACTIONS_PER_CARD_PER_DAY = 2.46  # fraudTrain.csv: 1,296,675 rows, 983 cards, 537 days
ROWS_PER_CARD = 1_320
FRAUD_RATE = 0.0058
EPISODE_SIZES = (2, 18)  # fraud transactions per compromised card, inclusive
WRITE_CHUNK_ROWS = 100_000  # rows per to_csv call, so long writes can show progress
EPISODE_NIGHTS = (1, 4)  # nights an episode is spread over, inclusive


@dataclass(frozen=True)
class Category:
    legit_share: float  # of legitimate transactions
    legit_median: float  # amount, before the customer's own spending level
    legit_sigma: float  # of log(amount)
    fraud_share: float  # of fraudulent transactions
    fraud_median: float
    fraud_sigma: float


# Shares and typical amounts per category, read off fraudTrain.csv.
CATEGORIES: dict[str, Category] = {
    "gas_transport": Category(0.1015, 58, 0.35, 0.082, 12, 0.3),
    "grocery_pos": Category(0.0953, 100, 0.45, 0.232, 310, 0.1),
    "home": Category(0.0949, 35, 1.0, 0.026, 250, 0.2),
    "shopping_pos": Category(0.0900, 35, 1.2, 0.112, 900, 0.3),
    "kids_pets": Category(0.0872, 35, 1.0, 0.032, 19, 0.3),
    "shopping_net": Category(0.0752, 35, 1.2, 0.228, 1000, 0.25),
    "entertainment": Category(0.0725, 38, 1.0, 0.031, 500, 0.2),
    "food_dining": Category(0.0705, 30, 1.0, 0.020, 120, 0.2),
    "personal_care": Category(0.0700, 28, 1.05, 0.029, 25, 0.3),
    "health_fitness": Category(0.0662, 35, 0.9, 0.018, 20, 0.3),
    "misc_pos": Category(0.0614, 35, 1.05, 0.033, 200, 0.6),
    "misc_net": Category(0.0488, 35, 1.2, 0.122, 800, 0.25),
    "grocery_net": Category(0.0351, 50, 0.35, 0.018, 12, 0.3),
    "travel": Category(0.0312, 12, 1.8, 0.016, 9, 0.4),
}
CATEGORY_NAMES = tuple(CATEGORIES)

# Legitimate spending is a third heavier in the afternoon and evening.
LEGIT_HOUR_WEIGHTS = np.array([1.0] * 12 + [1.55] * 12)
# Fraud: a quarter of it at 22:00 and another at 23:00, most of the rest before 04:00.
FRAUD_HOUR_WEIGHTS = np.full(24, 0.152 / 18)
FRAUD_HOUR_WEIGHTS[[22, 23, 0, 1, 2, 3]] = [0.257, 0.254, 0.085, 0.088, 0.083, 0.081]

MIN_AMOUNT, MAX_AMOUNT = 1.0, 30_000.0
CARD_LENGTHS = np.array([16, 15, 14, 19, 13, 12])
CARD_LENGTH_WEIGHTS = np.array([0.45, 0.15, 0.1, 0.15, 0.05, 0.1])


def _weights(values) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array / array.sum()


LEGIT_CATEGORY_P = _weights([c.legit_share for c in CATEGORIES.values()])
FRAUD_CATEGORY_P = _weights([c.fraud_share for c in CATEGORIES.values()])


def generate(
    rows: int,
    seed: int | Sequence[int] = 0,
    *,
    start: str = START,
    customers: int | None = None,
    days: float | None = None,
    fraud_rate: float = FRAUD_RATE,
    velocity_cards: int = 0,
    velocity_burst: int = 30,
    velocity_window_s: int = 600,
) -> pd.DataFrame:
    """`rows` transactions as `fraudlake.kaggle.read_kaggle_csv` would return them.

    `seed` is anything `numpy.random.default_rng` takes; the same seed, the same frame.

    customers and days default to the Kaggle file's density (about 1,320 rows per
    card, 2.46 a day). `velocity_cards` cards each make `velocity_burst` fraudulent
    purchases within `velocity_window_s` seconds, to exercise velocity rules.
    """
    rng = np.random.default_rng(seed)
    n_customers = customers or max(10, round(rows / ROWS_PER_CARD))
    span_s = int((days or rows / (n_customers * TRANSACTIONS_PER_CARD_PER_DAY)) * DAY)
    people = _customers(rng, n_customers, pd.Timestamp(start))

    n_velocity = min(rows, velocity_cards * velocity_burst)
    n_fraud = min(rows - n_velocity, round(rows * fraud_rate))
    parts = [
        _legitimate(rng, rows - n_fraud - n_velocity, people, span_s),
        _fraud_episodes(rng, n_fraud, n_customers, span_s),
        _velocity_bursts(rng, n_velocity, velocity_burst, n_customers, span_s, velocity_window_s),
    ]
    events = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    order = np.argsort(events["second"], kind="stable")
    events = {key: values[order] for key, values in events.items()}
    return _frame(rng, events, people, pd.Timestamp(start))


def _customers(rng: np.random.Generator, n: int, start: pd.Timestamp) -> dict[str, np.ndarray]:
    female = rng.random(n) < 0.55
    first = np.where(
        female,
        rng.choice(np.array(vocab.FIRST_NAMES_F, dtype=object), n),
        rng.choice(np.array(vocab.FIRST_NAMES_M, dtype=object), n),
    )
    city = rng.integers(len(vocab.CITIES), size=n)
    cities = list(zip(*vocab.CITIES))
    age_days = (rng.gamma(4.0, 11.0, n).clip(0, 72) + 18) * 365.25
    return {
        "cc_num": _card_numbers(rng, n),
        "first": first,
        "last": rng.choice(np.array(vocab.LAST_NAMES, dtype=object), n),
        "gender": np.where(female, "F", "M").astype(object),
        "street": _streets(rng, n),
        **{name: np.array(values, dtype=object if name in ("city", "state") else None)[city]
           for name, values in zip(("city", "state", "zip", "lat", "long", "city_pop"), cities)},
        "job": rng.choice(np.array(vocab.JOBS, dtype=object), n),
        "dob": (start - pd.to_timedelta(age_days.astype(int), unit="D")).normalize().values,
        # How much and how often each customer spends, relative to the average.
        "spend_level": rng.lognormal(0.0, 0.35, n),
        "activity": rng.lognormal(0.0, 0.5, n),
    }


def _card_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    numbers = np.zeros(n, dtype=np.int64)
    todo = np.arange(n)
    while todo.size:  # redraw the rare duplicates until every card is distinct
        length = rng.choice(CARD_LENGTHS, todo.size, p=CARD_LENGTH_WEIGHTS)
        leading = rng.integers(2, 7, todo.size)
        rest = (rng.random(todo.size) * 10.0 ** (length - 1)).astype(np.int64)
        numbers[todo] = leading * 10 ** (length - 1).astype(np.int64) + rest
        _, first_seen = np.unique(numbers, return_index=True)
        todo = np.setdiff1d(np.arange(n), first_seen)
    return numbers


def _streets(rng: np.random.Generator, n: int) -> np.ndarray:
    number = rng.integers(1, 99_999, n)
    name = rng.choice(np.array(vocab.STREET_NAMES, dtype=object), n)
    unit = rng.integers(1, 999, n)
    kind = rng.choice(np.array(["", " Apt. ", " Suite "], dtype=object), n, p=[0.7, 0.15, 0.15])
    return np.array([
        f"{num} {street}" + (f"{k}{u:03d}" if k == " Apt. " else f"{k}{u}" if k else "")
        for num, street, k, u in zip(number, name, kind, unit)
    ], dtype=object)


def _clock(rng: np.random.Generator, day_start_s: np.ndarray, hour_weights: np.ndarray) -> np.ndarray:
    """Seconds since the start: a whole day plus an hour drawn from the weights."""
    hour = rng.choice(24, day_start_s.size, p=hour_weights / hour_weights.sum())
    return day_start_s + hour * 3600 + rng.integers(0, 3600, day_start_s.size)


def _amounts(rng: np.random.Generator, category: np.ndarray, median: str, sigma: str) -> np.ndarray:
    medians = np.array([getattr(c, median) for c in CATEGORIES.values()])[category]
    sigmas = np.array([getattr(c, sigma) for c in CATEGORIES.values()])[category]
    return rng.lognormal(np.log(medians), sigmas)


def _events(customer, second, category, amount, fraud: bool) -> dict[str, np.ndarray]:
    return {
        "customer": customer,
        "second": second,
        "category": category,
        "amount": amount,
        "is_fraud": np.full(customer.size, int(fraud), dtype=np.int8),
    }


def _legitimate(rng, n: int, people: dict[str, np.ndarray], span_s: int) -> dict[str, np.ndarray]:
    customer = rng.choice(people["activity"].size, n, p=_weights(people["activity"]))
    days = max(1, span_s // DAY)
    second = _clock(rng, rng.integers(0, days, n) * DAY, LEGIT_HOUR_WEIGHTS)
    category = rng.choice(len(CATEGORIES), n, p=LEGIT_CATEGORY_P)
    amount = _amounts(rng, category, "legit_median", "legit_sigma") * people["spend_level"][customer]
    return _events(customer, second, category, amount, fraud=False)


def _fraud_episodes(rng, n: int, n_customers: int, span_s: int) -> dict[str, np.ndarray]:
    """`n` fraudulent transactions in episodes: a card, a first night, a few nights."""
    sizes = rng.integers(EPISODE_SIZES[0], EPISODE_SIZES[1] + 1, max(1, n // EPISODE_SIZES[0]))
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), n) + 1]
    sizes[-1] -= sizes.sum() - n
    episodes = sizes.size
    card = rng.choice(n_customers, episodes, replace=episodes > n_customers)
    nights = rng.integers(EPISODE_NIGHTS[0], EPISODE_NIGHTS[1] + 1, episodes)
    first_day = rng.integers(0, max(1, span_s // DAY - EPISODE_NIGHTS[1]), episodes)
    episode = np.repeat(np.arange(episodes), sizes)
    # A night runs 22:00 to 04:00 across midnight; drawing the hour from the fraud
    # weights then placing hours before noon on the next day keeps each night together.
    night = first_day[episode] + (rng.random(n) * nights[episode]).astype(int)
    second = _clock(rng, night * DAY, FRAUD_HOUR_WEIGHTS)
    second += np.where(second % DAY < 12 * 3600, DAY, 0)
    category = rng.choice(len(CATEGORIES), n, p=FRAUD_CATEGORY_P)
    amount = _amounts(rng, category, "fraud_median", "fraud_sigma")
    return _events(card[episode], np.minimum(second, span_s - 1), category, amount, fraud=True)


def _velocity_bursts(rng, n: int, burst: int, n_customers: int, span_s: int, window_s: int) -> dict[str, np.ndarray]:
    """Cards that each make `burst` fraudulent purchases within `window_s` seconds."""
    cards = -(-n // burst)
    card = np.repeat(rng.choice(n_customers, cards), burst)[:n]
    start = np.repeat(rng.integers(0, max(1, span_s - window_s), cards), burst)[:n]
    category = rng.choice(len(CATEGORIES), n, p=FRAUD_CATEGORY_P)
    amount = _amounts(rng, category, "fraud_median", "fraud_sigma")
    return _events(card, start + rng.integers(0, window_s, n), category, amount, fraud=True)


def _frame(rng, events: dict[str, np.ndarray], people: dict[str, np.ndarray], start: pd.Timestamp) -> pd.DataFrame:
    n = events["second"].size
    customer = events["customer"]
    when = start + pd.to_timedelta(events["second"], unit="s")
    merchants = {c: np.array([vocab.MERCHANT_PREFIX + m for m in vocab.MERCHANTS[c]], dtype=object) for c in CATEGORY_NAMES}
    merchant = np.empty(n, dtype=object)
    for index, name in enumerate(CATEGORY_NAMES):
        rows = events["category"] == index
        merchant[rows] = rng.choice(merchants[name], int(rows.sum()))
    hexed = rng.bytes(16 * n).hex()
    columns = {
        "trans_date_trans_time": when,
        "cc_num": people["cc_num"][customer],
        "merchant": merchant,
        "category": np.array(CATEGORY_NAMES, dtype=object)[events["category"]],
        "amt": np.round(events["amount"].clip(MIN_AMOUNT, MAX_AMOUNT), 2),
        **{name: people[name][customer] for name in ("first", "last", "gender", "street", "city", "state",
                                                     "zip", "lat", "long", "city_pop", "job", "dob")},
        "trans_num": [hexed[i:i + 32] for i in range(0, 32 * n, 32)],
        "unix_time": kaggle_unix_time(pd.Series(when)),
        # Sparkov places the merchant within a degree of the customer's home.
        "merch_lat": np.round(people["lat"][customer] + rng.uniform(-1, 1, n), 6),
        "merch_long": np.round(people["long"][customer] + rng.uniform(-1, 1, n), 6),
        "is_fraud": events["is_fraud"],
    }
    frame = pd.DataFrame(columns)
    return frame.astype(kaggle_dtypes())[list(COLUMN_NAMES)]


def kaggle_dtypes() -> dict[str, str]:
    """The dtypes `read_kaggle_csv` gives each column."""
    datetime = str(pd.Series(pd.to_datetime(["2019-01-01"], format=DATE_FORMAT)).dtype)
    return {name: PANDAS_DTYPES.get(kind, datetime) for name, kind in TRANSACTION_COLUMNS.items()}


def kaggle_unix_time(when: pd.Series) -> np.ndarray:
    """The Kaggle file's `unix_time`: the transaction time, seven years earlier, read as UTC."""
    shifted = pd.to_datetime({
        "year": when.dt.year - 7,
        "month": when.dt.month,
        # 29 February has no match seven years earlier; the 28th stands in for it.
        "day": when.dt.day.where(~((when.dt.month == 2) & (when.dt.day == 29)), 28),
    }) + (when - when.dt.normalize())
    return (shifted - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)


def write_kaggle_csv(frame: pd.DataFrame, out: str | PathLike | IO[str], first_index: int = 0,
                     progress: bool = False) -> None:
    """Write `frame` as the Kaggle file is written: unnamed index column, minimal quoting."""
    text = frame.assign(dob=frame["dob"].dt.strftime(DATE_FORMAT))
    text.index = pd.RangeIndex(first_index, first_index + len(frame))
    with (
        contextlib.nullcontext(out) if hasattr(out, "write") else open(out, "w", newline="") as handle,
        tqdm(total=len(text), unit=" rows", unit_scale=True, disable=not progress, desc="write csv") as bar,
    ):
        for begin in range(0, max(1, len(text)), WRITE_CHUNK_ROWS):
            part = text.iloc[begin:begin + WRITE_CHUNK_ROWS]
            part.to_csv(handle, header=begin == 0, index=True, index_label="",
                        date_format=TIMESTAMP_FORMAT, lineterminator="\n")
            bar.update(len(part))
