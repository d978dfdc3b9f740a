"""The prediction API: FastAPI app scoring raw transactions with the fraud model."""

import os

# Idle OpenMP threads (XGBoost's) spin for a while by default, taking cores the event
# loop needs between requests. Passive waiting measured ~15 % more batch throughput
# on average over alternating runs of bench/api_bench.py on 2 cores. It must be set
# before xgboost loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from fraudlake.api.app import create_app  # noqa: E402

__all__ = ["create_app"]
