"""GET /health and GET /model/info."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from fraudlake.api.deps import Authenticated, HistoryDep, ModelDep, OptionalModelDep
from fraudlake.api.history import HistoryUnavailable
from fraudlake.api.schemas import ComponentHealth, Health, ModelInfo

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
