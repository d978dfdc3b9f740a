"""`create_app()`: the prediction API, its model and its history repository."""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from fraudlake.api.history import HistoryRepository, HistoryUnavailable
from fraudlake.api.metrics import ApiMetrics
from fraudlake.api.routers import metrics, predict
from fraudlake.api.routers import status as status_router
from fraudlake.model.io import ModelLoadError, load_model
from fraudlake.settings import ApiSettings, get_api_settings, get_postgres_settings


def create_app(settings: ApiSettings | None = None, model_dir: Path | None = None) -> FastAPI:
    """The app; the model (MODEL_DIR unless `model_dir`) and the pool are opened on startup."""
    settings = settings or get_api_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # A missing model leaves the API up and saying so on /health, rather than
        # crash-looping under compose with the reason buried in a log.
        app.state.model, app.state.model_error = None, None
        try:
            app.state.model = load_model(model_dir)
            app.state.metrics.model.info({"version": app.state.model.version})
        except ModelLoadError as exc:
            app.state.model_error = str(exc)
        app.state.history = HistoryRepository(get_postgres_settings(), settings) if settings.api_history_lookup else None
        if app.state.history:
            app.state.history.open()
        # What is loaded by now (libraries, the model) lives as long as the process.
        # Freezing it spares every full garbage collection from walking it again.
        gc.freeze()
        yield
        if app.state.history:
            app.state.history.close()

    app = FastAPI(title="fraudlake prediction API", version="1", lifespan=lifespan,
                  description="Scores raw credit-card transactions with the fraudlake XGBoost model.")
    app.state.settings = settings
    app.state.model_dir = model_dir
    app.state.metrics = ApiMetrics()
    app.include_router(predict.router)
    app.include_router(status_router.router)
    app.include_router(metrics.router)

    @app.exception_handler(HistoryUnavailable)
    async def _history_unavailable(request: Request, exc: HistoryUnavailable) -> JSONResponse:
        request.app.state.metrics.history_unavailable.inc()
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)

    return app
