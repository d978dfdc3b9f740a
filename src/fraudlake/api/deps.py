"""FastAPI dependencies, as `Annotated` aliases. Tests replace `get_model` and
`get_history` through `app.dependency_overrides`; every route, /health included,
reaches the model through `get_model`, so an override is what the whole app serves."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fraudlake.api.history import HistoryRepository
from fraudlake.api.metrics import ApiMetrics
from fraudlake.model.io import FraudModel
from fraudlake.settings import ApiSettings


# The dependencies are `async def` although they wait for nothing: FastAPI runs a
# plain `def` dependency in its thread pool, a hop that cost more than scoring one
# transaction.


async def get_settings(request: Request) -> ApiSettings:
    return request.app.state.settings


async def get_model(request: Request) -> FraudModel | None:
    """The model loaded at startup; None when it could not be (the reason is in `model_error`)."""
    return getattr(request.app.state, "model", None)


async def require_model(request: Request, model: Annotated[FraudModel | None, Depends(get_model)]) -> FraudModel:
    if model is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"no model loaded: {request.app.state.model_error}")
    return model


async def get_history(request: Request) -> HistoryRepository | None:
    """The PostgreSQL history repository; None when API_HISTORY_LOOKUP is off."""
    return request.app.state.history


async def get_metrics(request: Request) -> ApiMetrics:
    return request.app.state.metrics


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
ModelDep = Annotated[FraudModel, Depends(require_model)]
OptionalModelDep = Annotated[FraudModel | None, Depends(get_model)]
HistoryDep = Annotated[HistoryRepository | None, Depends(get_history)]
MetricsDep = Annotated[ApiMetrics, Depends(get_metrics)]

_bearer = HTTPBearer(auto_error=False)


async def require_token(settings: SettingsDep,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
    """Checks `Authorization: Bearer <API_TOKEN>`."""
    expected = settings.api_token.get_secret_value().encode()
    if credentials is None or not secrets.compare_digest(credentials.credentials.encode(), expected):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or wrong bearer token",
                            headers={"WWW-Authenticate": "Bearer"})


Authenticated = Depends(require_token)
