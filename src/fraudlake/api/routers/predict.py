"""POST /predict/raw and /predict/raw/batch."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import orjson
import pandas as pd
from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from fraudlake.api.deps import Authenticated, HistoryDep, MetricsDep, ModelDep, SettingsDep
from fraudlake.api.history import HistoryRepository
from fraudlake.api.metrics import ApiMetrics
from fraudlake.api.schemas import Prediction, RawTransaction
from fraudlake.features import INPUT_COLUMNS
from fraudlake.model.io import FraudModel
from fraudlake.settings import ApiSettings

router = APIRouter(tags=["predict"], dependencies=[Authenticated])


def _score(transactions: list[RawTransaction], model: FraudModel, history: HistoryRepository | None,
           metrics: ApiMetrics, endpoint: str, explain_all: bool = True) -> list[dict]:
    with metrics.request_seconds.labels(endpoint).time():
        frame = pd.DataFrame.from_records([t.__dict__ for t in transactions], columns=list(INPUT_COLUMNS))
        past = None
        if history is not None:
            with metrics.history_seconds.time():
                past = history.fetch(frame)
        scores = model.score(frame, past, explain_all=explain_all)
        predictions = [
            {"trans_num": trans_num, "fraud_probability": probability, "is_fraud": is_fraud, "risk_level": level,
             "model_version": model.version, "top_features": top}
            for trans_num, probability, is_fraud, level, top in zip(
                frame["trans_num"], scores.probabilities.tolist(), scores.is_fraud.tolist(),
                scores.risk_levels.tolist(), scores.top_features)
        ]
    metrics.batch_rows.observe(len(transactions))
    for level, count in zip(*np.unique(scores.risk_levels, return_counts=True)):
        metrics.scored.labels(level).inc(int(count))
    return predictions


def _json(payload) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json")


# The handlers return plain dicts serialised by orjson: validating 1,000 outgoing
# Prediction models would cost more than scoring them; the response_model still
# documents the shape, and the contract tests check it.
@router.post("/predict/raw", response_model=Prediction)
def predict_raw(transaction: RawTransaction, model: ModelDep, history: HistoryDep, metrics: MetricsDep) -> Response:
    """Score one raw transaction (Kaggle fields)."""
    return _json(_score([transaction], model, history, metrics, "raw")[0])


_BATCH = TypeAdapter(list[RawTransaction])
ExplainQuery = Annotated[Literal["flagged", "all"], Query(
    description="`flagged`: top features only for transactions judged fraud; `all`: for every one.")]


# The batch body is validated straight from its bytes: pydantic's JSON parser is
# about twice as fast as FastAPI's json.loads-then-validate on 1,000 rows. The
# schema is declared by hand so the OpenAPI document still shows it.
@router.post("/predict/raw/batch", response_model=list[Prediction], openapi_extra={"requestBody": {
    "required": True, "content": {"application/json": {"schema": {"type": "array", "items": RawTransaction.model_json_schema()}}}}})
async def predict_raw_batch(request: Request, model: ModelDep, history: HistoryDep, metrics: MetricsDep,
                            settings: SettingsDep, explain: ExplainQuery = "flagged") -> Response:
    """Score a list of raw transactions; the answer is in the same order.

    `top_features` is filled for the transactions judged fraud (what alerts show) and
    empty for the others, unless `?explain=all`: explaining every row costs more than
    scoring it.
    """
    try:
        transactions = _BATCH.validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError([error | {"loc": ("body", *error["loc"])} for error in exc.errors()]) from exc
    return await run_in_threadpool(_score_batch, transactions, model, history, metrics, settings, explain == "all")


def _score_batch(transactions: list[RawTransaction], model: FraudModel, history: HistoryRepository | None,
                 metrics: ApiMetrics, settings: ApiSettings, explain_all: bool) -> Response:
    if len(transactions) > settings.api_batch_limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                            f"{len(transactions)} transactions; at most {settings.api_batch_limit} per request (API_BATCH_LIMIT)")
    if not transactions:
        return _json([])
    return _json(_score(transactions, model, history, metrics, "batch", explain_all))
