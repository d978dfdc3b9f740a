"""Request and response bodies of the prediction API.

Requests are decoded by msgspec straight from their bytes into `RawTransaction`
structs and then into columns (`fraudlake.features.Columns`), the shape the
features are computed on. On a 1,000-row batch msgspec decodes and validates
about five times faster than pydantic, which made validation the largest cost of
a request. Responses, which the handlers serialise with orjson, are documented
with pydantic models.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

import msgspec
import numpy as np
from fastapi import HTTPException, status
from fastapi.exceptions import RequestValidationError
from msgspec import Meta
from pydantic import BaseModel, Field

from fraudlake.features import INPUT_COLUMNS
from fraudlake.schema import (DOB_AFTER_TRANSACTION_PROBLEM, DOB_TOO_EARLY_PROBLEM, EARLIEST_DOB,
                              EARLIEST_TRANSACTION_TIME, LATEST_TRANSACTION_TIME, TRANS_NUM_MAX_LENGTH,
                              TRANSACTION_TIME_PROBLEM, VALUE_BOUNDS)


_NO_NUL = "^[^\x00]*$"  # NUL_PROBLEM: the id goes into SQL, and no text column can hold one


def _bounded(column: str, description: str = "") -> Meta:
    bound = VALUE_BOUNDS[column]
    return Meta(ge=bound.low, le=bound.high, description=description or None)


# gc=False: the structs hold only scalars, so they cannot form cycles, and leaving them
# out of the garbage collector's tracking makes decoding a batch about a third faster.
class RawTransaction(msgspec.Struct, kw_only=True, gc=False):
    """One transaction in the Kaggle shape: the fields scoring uses. A client may send
    the whole row; the other Kaggle fields (merchant, names, address, job, unix_time,
    is_fraud) and any unknown ones are ignored, not validated."""

    trans_num: Annotated[str, Meta(min_length=1, max_length=TRANS_NUM_MAX_LENGTH, pattern=_NO_NUL,
                                   description="Transaction id (the primary key of `transactions`).")]
    trans_date_trans_time: Annotated[datetime, Meta(
        description="Wall-clock time of the transaction, e.g. 2019-01-01 00:00:18; a time zone, if given, is ignored. "
                    f"Within [{EARLIEST_TRANSACTION_TIME:%Y-%m-%d}, {LATEST_TRANSACTION_TIME:%Y-%m-%d}).")]
    cc_num: Annotated[int, _bounded("cc_num", "Card number; the per-card history is keyed by it.")]
    amt: Annotated[float, _bounded("amt", "Amount.")]
    category: Annotated[str, Meta(pattern=_NO_NUL, description="Merchant category; one the model does not know is scored as missing.")]
    gender: Annotated[str, Meta(pattern=_NO_NUL, description="M or F; anything else is scored as missing.")]
    dob: Annotated[date, Meta(description=f"Cardholder's date of birth: from {EARLIEST_DOB:%Y-%m-%d} to the transaction's day.")]
    city_pop: Annotated[int, _bounded("city_pop")]
    lat: Annotated[float, _bounded("lat", "Cardholder latitude.")]
    long: Annotated[float, _bounded("long", "Cardholder longitude.")]
    merch_lat: Annotated[float, _bounded("merch_lat")]
    merch_long: Annotated[float, _bounded("merch_long")]


# The request body's JSON schema, inlined into the OpenAPI document (FastAPI cannot
# derive it from a msgspec struct).
RAW_TRANSACTION_SCHEMA: dict = msgspec.json.schema_components([RawTransaction])[1]["RawTransaction"]

_ONE = msgspec.json.Decoder(RawTransaction)
_MANY = msgspec.json.Decoder(list[RawTransaction])
_ROWS_UNDECODED = msgspec.json.Decoder(list[msgspec.Raw])
# No row is shorter than its required keys with one-character values: `"name":v,` each.
_MIN_ROW_BYTES = sum(len(name) + 4 for name in RawTransaction.__struct_fields__)
_UNIX_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_PATH_PART = re.compile(r"\[(\d+)\]|\.([^.\[]+)")
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")


def decode_transaction(body: bytes) -> dict[str, list | np.ndarray]:
    """One JSON object as columns of one row; `RequestValidationError` when invalid."""
    columns = to_columns([_decode(_ONE, body, batch=False)])
    _refuse_implausible(columns, batch=False)
    return columns


def decode_transactions(body: bytes, max_rows: int) -> dict[str, list | np.ndarray]:
    """A JSON array of at most `max_rows` transactions as columns; `RequestValidationError`
    when invalid, `HTTPException` 413 when longer. One bad row refuses the whole batch."""
    # Counting costs about half a decode, so it is done only for a body long enough
    # to hold more rows than allowed, and then before any row is decoded.
    if len(body) > max_rows * _MIN_ROW_BYTES:
        rows = len(_decode(_ROWS_UNDECODED, body, batch=True))
        if rows > max_rows:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                                f"{rows} transactions; at most {max_rows} per request (API_BATCH_LIMIT)")
    columns = to_columns(_decode(_MANY, body, batch=True))
    _refuse_implausible(columns, batch=True)
    return columns


def _refuse_implausible(columns: dict[str, list | np.ndarray], batch: bool) -> None:
    """The checks across fields and rows that msgspec's per-field constraints cannot
    state, with the producer's bounds (`fraudlake.schema`); the first failing row is named."""
    seconds, dob = columns["trans_date_trans_time"], columns["dob"]
    failures = [
        ("trans_date_trans_time", TRANSACTION_TIME_PROBLEM,
         (seconds < _EARLIEST_TIME) | (seconds >= _LATEST_TIME)),
        ("dob", DOB_TOO_EARLY_PROBLEM, dob < _EARLIEST_DOB),
        ("dob", DOB_AFTER_TRANSACTION_PROBLEM, dob > seconds.astype("datetime64[D]")),
    ]
    trans_nums = columns["trans_num"]
    # Each transaction is scored once: two rows with one id would each be the other's
    # history and get different scores, so a repeated id refuses the batch.
    if len(set(trans_nums.tolist())) < len(trans_nums):
        _, first = np.unique(trans_nums, return_index=True)
        repeated = np.ones(len(trans_nums), dtype=bool)
        repeated[first] = False
        failures.append(("trans_num", "trans_num repeats an earlier row of the batch", repeated))
    found = [(int(np.argmax(failing)), field, problem) for field, problem, failing in failures if failing.any()]
    if found:
        row, field, problem = min(found, key=lambda item: item[0])
        loc = ["body", row, field] if batch else ["body", field]
        raise RequestValidationError([{"type": "value_error", "loc": loc, "msg": problem}])


_EARLIEST_TIME = np.datetime64(EARLIEST_TRANSACTION_TIME, "s")
_LATEST_TIME = np.datetime64(LATEST_TRANSACTION_TIME, "s")
_EARLIEST_DOB = np.datetime64(EARLIEST_DOB, "D")


def to_columns(transactions: list[RawTransaction]) -> dict[str, list | np.ndarray]:
    """The `INPUT_COLUMNS` of the transactions: the ids, card numbers and dates as
    numpy arrays, the other columns as the lists the features read them from."""
    count = len(transactions)
    columns = {name: [getattr(t, name) for t in transactions] for name in INPUT_COLUMNS}
    times = columns["trans_date_trans_time"]
    # Epoch seconds from the wall-clock fields, which also drops any time zone: history
    # in PostgreSQL is wall-clock time without zone, as in the Kaggle file. numpy's
    # own conversion of datetime objects is five times slower.
    seconds = np.fromiter(
        ((t.toordinal() - _UNIX_EPOCH_ORDINAL) * 86400 + t.hour * 3600 + t.minute * 60 + t.second for t in times),
        dtype=np.int64, count=count)
    days = np.fromiter((d.toordinal() for d in columns["dob"]), dtype=np.int64, count=count) - _UNIX_EPOCH_ORDINAL
    return columns | {
        "trans_num": np.asarray(columns["trans_num"], dtype=object),
        "trans_date_trans_time": seconds.view("datetime64[s]"),
        "dob": days.view("datetime64[D]"),
        "cc_num": np.asarray(columns["cc_num"], dtype=np.int64),
    }


def _decode(decoder: msgspec.json.Decoder, body: bytes, batch: bool):
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise RequestValidationError([_error_detail(str(exc))]) from exc
    except msgspec.DecodeError as exc:
        raise RequestValidationError([{"type": "json_invalid", "loc": ["body"], "msg": str(exc)}]) from exc
    except RecursionError as exc:  # msgspec recurses even through the unknown fields it skips
        raise RequestValidationError([_deepest_nesting(body, batch)]) from exc


# A JSON key (a string followed by a colon), any other string, or a bracket.
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"\s*:|"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _deepest_nesting(body: bytes, batch: bool) -> dict:
    """A 422 detail naming the row and field where `body` nests deepest: the decoder
    does not say where it ran out of stack. Only called on that error."""
    row_depth = 2 if batch else 1
    depth = deepest = 0
    row, field, loc = -1, None, []
    for token in _JSON_TOKEN.finditer(body):
        text = token.group()
        if text in (b"[", b"{"):
            depth += 1
            if depth == row_depth:
                row, field = row + 1, None
            if depth > deepest:
                deepest, loc = depth, ([row] if batch else []) + ([field] if field else [])
        elif text in (b"]", b"}"):
            depth -= 1
        elif depth == row_depth and text.endswith(b":"):
            field = msgspec.json.decode(text[:-1].rstrip(), type=str)
    return {"type": "value_error", "loc": ["body", *loc], "msg": f"JSON nested too deeply ({deepest} levels)"}


def _error_detail(message: str) -> dict:
    """msgspec's "Expected `int` >= 0 - at `$[1].cc_num`" in FastAPI's 422 shape:
    {"loc": ["body", 1, "cc_num"], "msg": "Expected `int` >= 0", ...}."""
    text, _, path = message.rpartition(" - at `")
    if not text:
        text, path = message, ""
    loc: list[str | int] = ["body"]
    for index, name in _PATH_PART.findall(path.rstrip("`")):
        loc.append(int(index) if index else name)
    if missing := _MISSING_FIELD.search(text):
        loc.append(missing.group(1))
    return {"type": "value_error", "loc": loc, "msg": text}


class TopFeature(BaseModel):
    feature: str
    value: float | None
    contribution: float = Field(description="Push on the log-odds of fraud (Saabas attribution).")


class Prediction(BaseModel):
    trans_num: str
    fraud_probability: float
    is_fraud: bool
    risk_level: str
    model_version: str
    top_features: list[TopFeature]


class ComponentHealth(BaseModel):
    ok: bool
    detail: str


class Health(BaseModel):
    status: str = Field(description="`ok` when every component is; `degraded` otherwise.")
    model: ComponentHealth
    database: ComponentHealth


class ModelInfo(BaseModel):
    model_version: str
    model_dir: str
    features: list[str]
    fraud_threshold: float
    risk_bands: dict[str, float]
    history_lookup: bool
    training_data: dict
    metrics: dict
