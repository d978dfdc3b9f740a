"""GET /health and GET /model/info."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from fraudlake.api.deps import Authenticated, HistoryDep, ModelDep, OptionalModelDep
from fraudlake.api.history import HistoryUnavailable
from fraudlake.api.schemas import ComponentHealth, Health, ModelInfo
from fraudlake.model.io import ModelLoadError, load_model

router = APIRouter(tags=["status"])


@router.get("/health", response_model=Health)
def health(request: Request, response: Response, model: OptionalModelDep, history: HistoryDep) -> Health:
    """Is a model loaded and is the history database reachable; 503 when not."""
    model_health = ComponentHealth(ok=model is not None,
                                   detail=model.version if model else f"no model: {request.app.state.model_error}")
    if history is None:
        database = ComponentHealth(ok=True, detail="not used (API_HISTORY_LOOKUP=false)")
    else:
        try:
            database = ComponentHealth(ok=True, detail=history.ping())
        except HistoryUnavailable as exc:
            database = ComponentHealth(ok=False, detail=str(exc))
    healthy = model_health.ok and database.ok
    if not healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Health(status="ok" if healthy else "degraded", model=model_health, database=database)


@router.get("/model/info", response_model=ModelInfo, dependencies=[Authenticated])
def model_info(model: ModelDep, history: HistoryDep) -> ModelInfo:
    """The served model: version, features, threshold and risk bands, training data and metrics."""
    metadata = model.metadata
    return ModelInfo(
        model_version=model.version,
        model_dir=str(model.directory),
        features=metadata["features"],
        fraud_threshold=model.bands.fraud_threshold,
        risk_bands=metadata["risk_bands"],
        history_lookup=history is not None,
        training_data=metadata.get("training_data", {}),
        metrics=metadata.get("metrics", {}),
    )


@router.post("/model/reload", response_model=ModelInfo, dependencies=[Authenticated])
async def model_reload(request: Request, history: HistoryDep) -> ModelInfo:
    """Load the model again (MODEL_DIR, else the registry's promoted one) and serve it from
    the next request on; the model served until now stays if the new one cannot be loaded."""
    try:
        # Loading reads files and builds boosters: off the event loop, so scoring goes on.
        model = await run_in_threadpool(load_model, request.app.state.model_dir)
    except ModelLoadError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"kept the served model: {exc}") from exc
    # One reference swap: a request already scoring keeps the model it started with.
    request.app.state.model, request.app.state.model_error = model, None
    request.app.state.metrics.model.info({"version": model.version})
    return model_info(model, history)
