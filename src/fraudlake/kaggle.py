"""Reading files in the Kaggle fraudTrain.csv format into typed DataFrames.

This is the fast path for files known to be well formed (training, evaluation,
notebooks). The producer's loader validates line by line and quarantines bad rows
instead; both use the column list and types of `fraudlake.schema`.
"""

from __future__ import annotations

from os import PathLike

import pandas as pd

from fraudlake.errors import FraudlakeError
from fraudlake.schema import COLUMN_NAMES, KAGGLE_HEADER, TRANSACTION_COLUMNS, ColumnType

PANDAS_DTYPES = {
    ColumnType.TEXT: "string",
    ColumnType.BIGINT: "int64",
    ColumnType.INTEGER: "int64",
    ColumnType.SMALLINT: "int8",
    ColumnType.DOUBLE: "float64",
    # Money is exact in PostgreSQL and on the wire; in a DataFrame it is used for
    # arithmetic (features), so float64 is the right type here.
    ColumnType.DECIMAL: "float64",
}


class KaggleFormatError(FraudlakeError, ValueError):
    """The file is not in the Kaggle transactions format."""


def header_problems(header: list[str]) -> list[str]:
    """What is wrong with a CSV header, compared with the Kaggle one; empty if nothing."""
    problems = []
    expected = list(KAGGLE_HEADER)
    if header[:1] != [""]:
        expected = list(COLUMN_NAMES)  # a file without the unnamed index column is accepted
    missing = [c for c in expected if c not in header]
    extra = [c for c in header if c not in expected]
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    if extra:
        problems.append(f"unexpected columns: {', '.join(repr(c) for c in extra)}")
    if not missing and not extra and header != expected:
        problems.append(f"columns out of order: expected {', '.join(expected)}")
    return problems


def read_kaggle_csv(path: str | PathLike, nrows: int | None = None) -> pd.DataFrame:
    """The 22 columns, typed, in file order; timestamps and dates as datetime64."""
    header = pd.read_csv(path, nrows=0).columns.tolist()
    header = ["" if c.startswith("Unnamed: 0") else c for c in header]
    problems = header_problems(header)
    if problems:
        raise KaggleFormatError(f"{path}: not the Kaggle transactions header ({'; '.join(problems)})")
    dtypes = {name: PANDAS_DTYPES[kind] for name, kind in TRANSACTION_COLUMNS.items() if kind in PANDAS_DTYPES}
    frame = pd.read_csv(path, usecols=list(COLUMN_NAMES), dtype=dtypes, nrows=nrows, keep_default_na=False)
    frame["trans_date_trans_time"] = pd.to_datetime(frame["trans_date_trans_time"], format="%Y-%m-%d %H:%M:%S")
    frame["dob"] = pd.to_datetime(frame["dob"], format="%Y-%m-%d")
    return frame[list(COLUMN_NAMES)]
