"""Names and places the generator draws from, taken from the real fraudTrain.csv sample.

The Kaggle file is itself synthetic (Sparkov, with Faker names), so its cities
(with their real zip codes, coordinates and populations), merchants (with their
category), jobs, names and street names are reused here: generated rows then look
like the real ones to anything that reads them, including the model's encoders.

The lists are data, not code: they live in `fraudlake/producer/data/` (package
data, read with importlib.resources, so an installed fraudlake has them) and are
derived from the sample by `derive`, which
`fraudlake producer vocabulary --from data/fraudTrain_sample.csv --out src/fraudlake/producer/data`
runs; a test derives them again and compares them with the shipped files.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files
from os import PathLike
from pathlib import Path

CITIES_FILE = "cities.csv"
MERCHANTS_FILE = "merchants.csv"
# name list -> file, one name a line
LIST_FILES = {
    "FIRST_NAMES_F": "first_names_f.txt",
    "FIRST_NAMES_M": "first_names_m.txt",
    "LAST_NAMES": "last_names.txt",
    "JOBS": "jobs.txt",
    "STREET_NAMES": "street_names.txt",
}
CITY_COLUMNS = ("city", "state", "zip", "lat", "long", "city_pop")
MERCHANT_PREFIX = "fraud_"  # every merchant name in the Kaggle file carries it
COORDINATE_DECIMALS = 4  # the file's own precision; some values carry float-repr noise (31.570999999999998)
_HOUSE_NUMBER = re.compile(r"^\d+ ")
_UNIT = re.compile(r" (Apt\.|Suite) \d+$")


def derive(sample: str | PathLike) -> dict[str, str]:
    """The vocabulary files' contents (file name -> text) from a Kaggle-format CSV.

    A city is taken with the zip and coordinates of its first row (a city of several
    zips would otherwise be several cities), a merchant under the category of its
    first row; every list is sorted, so the files change only when the sample does.
    """
    cities: dict[tuple[str, str], tuple] = {}
    merchants: dict[str, str] = {}
    lists: dict[str, set[str]] = {name: set() for name in LIST_FILES}
    with open(sample, newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            cities.setdefault((row["state"], row["city"]), (
                row["city"], row["state"], int(row["zip"]), round(float(row["lat"]), COORDINATE_DECIMALS),
                round(float(row["long"]), COORDINATE_DECIMALS), int(row["city_pop"])))
            merchants.setdefault(row["merchant"].removeprefix(MERCHANT_PREFIX), row["category"])
            lists["FIRST_NAMES_F" if row["gender"] == "F" else "FIRST_NAMES_M"].add(row["first"])
            lists["LAST_NAMES"].add(row["last"])
            lists["JOBS"].add(row["job"])
            lists["STREET_NAMES"].add(_HOUSE_NUMBER.sub("", _UNIT.sub("", row["street"])))
    out = {
        CITIES_FILE: _csv_text(CITY_COLUMNS, (cities[key] for key in sorted(cities))),
        MERCHANTS_FILE: _csv_text(("category", "merchant"),
                                  sorted((category, name) for name, category in merchants.items())),
    }
    for name, filename in LIST_FILES.items():
        out[filename] = "".join(f"{value}\n" for value in sorted(lists[name]))
    return out


def write(directory: str | PathLike, contents: dict[str, str]) -> list[Path]:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for filename, text in contents.items():
        (directory / filename).write_text(text, encoding="utf-8")
    return [directory / filename for filename in contents]


def shipped() -> dict[str, str]:
    """The vocabulary files as installed with fraudlake."""
    data = files("fraudlake.producer") / "data"
    return {filename: (data / filename).read_text(encoding="utf-8")
            for filename in (CITIES_FILE, MERCHANTS_FILE, *LIST_FILES.values())}


def _csv_text(header: tuple[str, ...], rows: Iterable[tuple]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@dataclass(frozen=True)
class Vocabulary:
    cities: tuple[tuple[str, str, int, float, float, int], ...]  # (city, state, zip, lat, long, city_pop)
    merchants: dict[str, tuple[str, ...]]  # category -> merchant names, without the `fraud_` prefix
    first_names_f: tuple[str, ...]
    first_names_m: tuple[str, ...]
    last_names: tuple[str, ...]
    jobs: tuple[str, ...]
    street_names: tuple[str, ...]


@functools.cache
def load() -> Vocabulary:
    """The shipped vocabulary, read once (on first use, so `derive` runs without it)."""
    text = shipped()
    merchants: dict[str, tuple[str, ...]] = {}
    for row in _rows(text[MERCHANTS_FILE]):
        merchants[row["category"]] = (*merchants.get(row["category"], ()), row["merchant"])
    return Vocabulary(
        cities=tuple((row["city"], row["state"], int(row["zip"]), float(row["lat"]), float(row["long"]),
                      int(row["city_pop"])) for row in _rows(text[CITIES_FILE])),
        merchants=merchants,
        **{name.lower(): tuple(text[filename].splitlines()) for name, filename in LIST_FILES.items()},
    )


def __getattr__(name: str):
    """`vocabulary.CITIES`, `vocabulary.JOBS` … as the generator reads them."""
    if name.lower() in Vocabulary.__dataclass_fields__ and name.isupper():
        return getattr(load(), name.lower())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
