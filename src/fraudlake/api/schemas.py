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
from fastapi.exceptions import RequestValidationError
from msgspec import Meta
from pydantic import BaseModel, Field

from fraudlake.features import INPUT_COLUMNS


# gc=False: the structs hold only scalars, so they cannot form cycles, and leaving them
# out of the garbage collector's tracking makes decoding a batch about a third faster.
class RawTransaction(msgspec.Struct, kw_only=True, gc=False):
    """One transaction in the Kaggle shape: the fields scoring uses. A client may send
    the whole row; the other Kaggle fields (merchant, names, address, job, unix_time,
    is_fraud) and any unknown ones are ignored, not validated."""

    trans_num: Annotated[str, Meta(min_length=1, description="Transaction id (the primary key of `transactions`).")]
    trans_date_trans_time: Annotated[datetime, Meta(
        description="Wall-clock time of the transaction, e.g. 2019-01-01 00:00:18; a time zone, if given, is ignored.")]
    cc_num: Annotated[int, Meta(ge=0, description="Card number; the per-card history is keyed by it.")]
    amt: Annotated[float, Meta(ge=0, description="Amount.")]
    category: Annotated[str, Meta(description="Merchant category; one the model does not know is scored as missing.")]
    gender: Annotated[str, Meta(description="M or F; anything else is scored as missing.")]
    dob: Annotated[date, Meta(description="Cardholder's date of birth.")]
    city_pop: Annotated[int, Meta(ge=0)]
    lat: Annotated[float, Meta(ge=-90, le=90, description="Cardholder latitude.")]
    long: Annotated[float, Meta(ge=-180, le=180, description="Cardholder longitude.")]
    merch_lat: Annotated[float, Meta(ge=-90, le=90)]
    merch_long: Annotated[float, Meta(ge=-180, le=180)]


# The request body's JSON schema, inlined into the OpenAPI document (FastAPI cannot
# derive it from a msgspec struct).
RAW_TRANSACTION_SCHEMA: dict = msgspec.json.schema_components([RawTransaction])[1]["RawTransaction"]

_ONE = msgspec.json.Decoder(RawTransaction)
_MANY = msgspec.json.Decoder(list[RawTransaction])
_UNIX_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_PATH_PART = re.compile(r"\[(\d+)\]|\.([^.\[]+)")
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")


def decode_transaction(body: bytes) -> dict[str, list | np.ndarray]:
    """One JSON object as columns of one row; `RequestValidationError` when invalid."""
    return to_columns([_decode(_ONE, body)])


def decode_transactions(body: bytes) -> dict[str, list | np.ndarray]:
    """A JSON array of transactions as columns; `RequestValidationError` when invalid."""
    return to_columns(_decode(_MANY, body))


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


def _decode(decoder: msgspec.json.Decoder, body: bytes):
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise RequestValidationError([_error_detail(str(exc))]) from exc
    except msgspec.DecodeError as exc:
        raise RequestValidationError([{"type": "json_invalid", "loc": ["body"], "msg": str(exc)}]) from exc


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
