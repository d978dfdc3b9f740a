"""Pipeline health for the dashboard, from the sources `make status` reads: each stack
component's own status, the connector's state, the CDC topic's end offsets, the
jobs' rows of `streaming_progress` (last batch, rates, lag) and the API's /health."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import pandas as pd

from fraudlake import stack
from fraudlake.settings import ApiSettings, KafkaSettings
from fraudlake.stack.kafka import topic_end_offsets


@dataclass
class PipelineHealth:
    components: pd.DataFrame  # component, state, pid, port, restarts, detail
    end_offsets: dict[int, int]
    queries: pd.DataFrame  # job, query, state, batch, input rows/s, processed rows/s, lag, updated, error
    api: dict = field(default_factory=dict)  # status, model_version, risk_bands, error


def pipeline_health(kafka: KafkaSettings, api: ApiSettings) -> PipelineHealth:
    states = stack.status()
    end_offsets: dict[int, int] = {}
    offsets_error = None
    if states.get("kafka", {}).get("healthy"):
        try:
            end_offsets = topic_end_offsets(kafka, timeout=3)
        except Exception as exc:  # noqa: BLE001 - health reports, it does not fail
            offsets_error = f"topic offsets unavailable: {exc}"
    components = pd.DataFrame([
        {"component": name, "state": stack.state_word(state), "pid": state["pid"], "port": state["port"],
         "restarts": state.get("restarts", {}).get("restarts"),
         "detail": state.get("connector") or (offsets_error if name == "kafka" else None) or ""}
        for name, state in states.items()])
    queries = pd.DataFrame([
        {"job": query.job, "query": query.query, "state": query.state, "last batch": query.batch_id,
         "input rows/s": query.input_rows_per_second, "processed rows/s": query.processed_rows_per_second,
         "lag": query.lag(end_offsets) if end_offsets else None, "updated": query.updated_at,
         "error": (query.error or "").splitlines()[0][:200] if query.error else ""}
        for state in states.values() for query in state.get("queries", [])],
        columns=["job", "query", "state", "last batch", "input rows/s", "processed rows/s", "lag", "updated", "error"])
    return PipelineHealth(components, end_offsets, queries, api_health(api))


def api_health(api: ApiSettings) -> dict:
    """The API's /health verdict and the served model's version and risk bands."""
    try:
        with httpx.Client(base_url=api.api_url, headers=api.auth_headers(), timeout=2) as http:
            health = http.get("/health").json()
            result = {"status": health["status"], "model_version": health["model"]["detail"], "error": None}
            info = http.get("/model/info")
            if info.status_code == 200:
                result["model_version"] = info.json()["model_version"]
                result["risk_bands"] = info.json()["risk_bands"]
            return result
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        return {"status": "unreachable", "model_version": None, "error": str(exc)}
