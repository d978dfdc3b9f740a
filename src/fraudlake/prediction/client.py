"""The prediction job's client of `POST /predict/raw/batch`.

Chunks of PREDICTION_API_CHUNK_ROWS go out PREDICTION_API_PARALLELISM at a time.
An outage (connection refused, timeout, 5xx, 429) raises `ApiUnavailable`, which
the job retries until the API is back. A 422 names the row that is wrong
(`loc: ["body", <index>, <field>]`): that row is set aside with the API's reason
and the rest of its chunk is sent again, so one bad row never costs the others
their scores.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal

import httpx
import orjson

from fraudlake.errors import FraudlakeError
from fraudlake.settings import ApiSettings, StreamingSettings


class ApiUnavailable(FraudlakeError, RuntimeError):
    """The API cannot score now (down, slow, 5xx, 429, or refusing our token)."""


class ApiContractError(FraudlakeError, RuntimeError):
    """An answer the job cannot use: a 422 that names no row, or a reply of the wrong length."""


@dataclass(frozen=True)
class Refused:
    """A transaction the API refused, with its reason."""

    payload: dict
    reason: str


def _json_default(value):
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot send {type(value).__name__} to the prediction API")


def encode(payloads: list[dict]) -> bytes:
    """Transactions as the API's JSON (datetimes ISO-8601, amounts as numbers)."""
    return orjson.dumps(payloads, default=_json_default)


class PredictionClient:
    def __init__(self, api: ApiSettings, streaming: StreamingSettings):
        headers = {"content-type": "application/json", **api.auth_headers()}
        self.http = httpx.Client(base_url=api.api_url, headers=headers,
                                 timeout=streaming.prediction_api_timeout_seconds,
                                 limits=httpx.Limits(max_connections=streaming.prediction_api_parallelism))
        self.chunk_rows = min(streaming.prediction_api_chunk_rows, api.api_batch_limit)
        self.pool = ThreadPoolExecutor(streaming.prediction_api_parallelism, thread_name_prefix="predict")

    def score(self, payloads: list[dict]) -> tuple[list[dict], list[Refused]]:
        """Predictions for the accepted transactions (in order) and the refused ones."""
        chunks = [payloads[i:i + self.chunk_rows] for i in range(0, len(payloads), self.chunk_rows)]
        predictions: list[dict] = []
        refused: list[Refused] = []
        for chunk_predictions, chunk_refused in self.pool.map(self._score_chunk, chunks):
            predictions.extend(chunk_predictions)
            refused.extend(chunk_refused)
        return predictions, refused

    def _score_chunk(self, chunk: list[dict]) -> tuple[list[dict], list[Refused]]:
        refused: list[Refused] = []
        while chunk:
            try:
                response = self.http.post("/predict/raw/batch", content=encode(chunk))
            except httpx.TransportError as exc:
                raise ApiUnavailable(f"{type(exc).__name__}: {exc}") from exc
            if response.status_code == 200:
                predictions = response.json()
                if len(predictions) != len(chunk):
                    raise ApiContractError(f"sent {len(chunk)} transactions, got {len(predictions)} predictions")
                return predictions, refused
            if response.status_code != 422:
                raise ApiUnavailable(f"HTTP {response.status_code}: {response.text[:300]}")
            index, reason = _refused_row(response.json(), len(chunk))
            refused.append(Refused(chunk[index], reason))
            chunk = chunk[:index] + chunk[index + 1:]
        return [], refused

    def close(self) -> None:
        self.pool.shutdown()
        self.http.close()


def _refused_row(body: dict, rows: int) -> tuple[int, str]:
    """The row a 422 names, and the reason to keep with it."""
    for detail in body.get("detail") or []:
        loc = detail.get("loc") or []
        if len(loc) >= 2 and isinstance(loc[1], int) and 0 <= loc[1] < rows:
            field = ".".join(str(part) for part in loc[2:]) or "row"
            return loc[1], f"{field}: {detail.get('msg', 'invalid')}"
    raise ApiContractError(f"422 without a row index: {str(body)[:300]}")
