"""POST /predict/raw and /predict/raw/batch."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from fraudlake.api.deps import Authenticated, HistoryDep, MetricsDep, ModelDep, SettingsDep
from fraudlake.api.history import HistoryRepository
from fraudlake.api.metrics import ApiMetrics
from fraudlake.api.schemas import RAW_TRANSACTION_SCHEMA, Prediction, decode_transaction, decode_transactions
from fraudlake.features import Columns
from fraudlake.model.io import FraudModel
from fraudlake.settings import ApiSettings

router = APIRouter(tags=["predict"], dependencies=[Authenticated])


async def _body(request: Request, settings: ApiSettings) -> bytes:
    """The request body, refused with 413 as soon as it is longer than API_MAX_BODY_BYTES:
    by its Content-Length before any of it is read, else while it streams in."""
    limit = settings.max_body_bytes
    too_large = HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                              f"request body over {limit:,} bytes (API_MAX_BODY_BYTES)")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


async def one_transaction(request: Request, settings: SettingsDep) -> Columns:
    return decode_transaction(await _body(request, settings))


async def transaction_batch(request: Request, settings: SettingsDep) -> Columns:
    return decode_transactions(await _body(request, settings), settings.api_batch_limit)


async def _score(transactions: Columns, model: FraudModel, history: HistoryRepository | None,
                 metrics: ApiMetrics, endpoint: str, explain_all: bool = True) -> list[dict]:
    # Scoring runs on the event loop: it is CPU work of a few milliseconds that a
    # thread could not run in parallel anyway, and a thread-pool hop cost more than
    # scoring one transaction. The blocking PostgreSQL query is the one thing sent
    # to a thread, so other requests are scored while it waits.
    with metrics.request_seconds.labels(endpoint).time():
        past = None
        if history is not None:
            with metrics.history_seconds.time():
                past = await run_in_threadpool(history.fetch, transactions)
        scores = model.score(transactions, past, explain_all=explain_all)
        predictions = [
            {"trans_num": trans_num, "fraud_probability": probability, "is_fraud": is_fraud, "risk_level": level,
             "model_version": model.version, "top_features": top}
            for trans_num, probability, is_fraud, level, top in zip(
                transactions["trans_num"].tolist(), scores.probabilities.tolist(), scores.is_fraud.tolist(),
                scores.risk_levels.tolist(), scores.top_features)
        ]
    metrics.batch_rows.observe(len(predictions))
    for level, count in zip(*np.unique(scores.risk_levels, return_counts=True)):
        metrics.scored.labels(level).inc(int(count))
    return predictions


def _json(payload) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json")


def _openapi_body(schema: dict) -> dict:
    """The request body for the OpenAPI document (bodies are decoded by the dependencies)."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


# The handlers return plain dicts serialised by orjson: validating 1,000 outgoing
# Prediction models would cost more than scoring them; the response_model still
# documents the shape, and the contract tests check it.
@router.post("/predict/raw", response_model=Prediction, openapi_extra=_openapi_body(RAW_TRANSACTION_SCHEMA))
async def predict_raw(transaction: Annotated[Columns, Depends(one_transaction)], model: ModelDep,
                      history: HistoryDep, metrics: MetricsDep) -> Response:
    """Score one raw transaction (Kaggle fields)."""
    return _json((await _score(transaction, model, history, metrics, "raw"))[0])


ExplainQuery = Annotated[Literal["flagged", "all"], Query(
    description="`flagged`: top features only for transactions judged fraud; `all`: for every one.")]


@router.post("/predict/raw/batch", response_model=list[Prediction],
             openapi_extra=_openapi_body({"type": "array", "items": RAW_TRANSACTION_SCHEMA}))
async def predict_raw_batch(transactions: Annotated[Columns, Depends(transaction_batch)], model: ModelDep,
                            history: HistoryDep, metrics: MetricsDep, explain: ExplainQuery = "flagged") -> Response:
    """Score a list of raw transactions; the answer is in the same order.

    `top_features` is filled for the transactions judged fraud (what alerts show) and
    empty for the others, unless `?explain=all`: explaining every row costs more than
    scoring it.
    """
    if not len(transactions["trans_num"]):
        return _json([])
    return _json(await _score(transactions, model, history, metrics, "batch", explain == "all"))
