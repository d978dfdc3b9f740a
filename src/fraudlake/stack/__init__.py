"""The local stack: PostgreSQL, Kafka, Kafka Connect + Debezium, MinIO, the
prediction API, the two Spark streaming jobs, the alert sender and the dashboard as
processes.

`up` starts what is not running, in dependency order, and waits for each to be
healthy; it is harmless to run again. `down` stops in reverse order and keeps the
data under the run directory, so `down` then `up` resumes where it was. The
supervisor, started last and stopped first, restarts whatever crashes in between
(fraudlake.stack.supervisor).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from fraudlake import settings as cfg
from fraudlake.stack.alerts import AlertSenderProcess
from fraudlake.stack.api import PredictionApi
from fraudlake.stack.connect import KafkaConnect
from fraudlake.stack.dashboard import Dashboard
from fraudlake.stack.jobs import LakehouseJob, PredictionJob
from fraudlake.stack.kafka import Kafka
from fraudlake.stack.minio import Minio
from fraudlake.stack.postgres import Postgres
from fraudlake.stack.process import StackError, component_lock

__all__ = ["StackError", "components", "locked", "up", "down", "status", "state_word"]


class Component(Protocol):
    name: str

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def status(self) -> dict: ...
    def pid(self) -> int | None: ...
    def crashed(self) -> bool: ...


def components() -> list[Component]:
    """Every component, in start order."""
    # Imported here, not above: `python -m fraudlake.stack.supervisor` imports this
    # package before it runs that module as __main__.
    from fraudlake.stack.supervisor import Supervised

    paths = cfg.get_path_settings()
    postgres = cfg.get_postgres_settings()
    kafka = cfg.get_kafka_settings()
    return [
        Postgres(paths, postgres),
        Kafka(paths, kafka),
        KafkaConnect(paths, cfg.get_connect_settings(), kafka, postgres),
        Minio(paths, cfg.get_minio_settings()),
        PredictionApi(paths, cfg.get_api_settings()),
        LakehouseJob(paths, cfg.get_streaming_settings(), postgres),
        PredictionJob(paths, cfg.get_streaming_settings(), postgres),
        AlertSenderProcess(paths, cfg.get_alert_settings()),
        Dashboard(paths, cfg.get_dashboard_settings()),
        Supervised(paths, cfg.get_supervisor_settings()),
    ]


def locked(component: Component):
    """The component's start/stop lock (see component_lock)."""
    return component_lock(cfg.get_path_settings().fraudlake_run_dir.resolve(), component.name)


@dataclass
class StartReport:
    name: str
    seconds: float


def up(only: set[str] | None = None, echo=print) -> list[StartReport]:
    reports = []
    for component in components():
        if only and component.name not in only:
            continue
        started = time.monotonic()
        if component.name == "supervisor" and not cfg.get_supervisor_settings().stack_supervise:
            continue
        echo(f"{component.name}: starting …")
        with locked(component):
            component.start()
        reports.append(StartReport(component.name, time.monotonic() - started))
        echo(f"{component.name}: healthy ({reports[-1].seconds:.1f} s)")
    return reports


def down(only: set[str] | None = None, echo=print) -> None:
    for component in reversed(components()):
        if only and component.name not in only:
            continue
        if component.pid() is not None:
            echo(f"{component.name}: stopping …")
            with locked(component):
                component.stop()


def status() -> dict[str, dict]:
    """Each component's status(), with the supervisor's count of its restarts."""
    from fraudlake.stack.supervisor import STATE_FILE, read_state

    restarts = read_state(cfg.get_path_settings().fraudlake_run_dir.resolve() / STATE_FILE)
    states = {}
    for component in components():
        states[component.name] = {**component.status(), "restarts": restarts.get(component.name, {})}
    return states


def state_word(state: dict) -> str:
    """A component's status() in one word: up, starting? (its process runs but is not healthy),
    down, or off (the supervisor, when STACK_SUPERVISE=false)."""
    if state.get("off"):
        return "off"
    return "up" if state["healthy"] else ("starting?" if state["pid"] else "down")
