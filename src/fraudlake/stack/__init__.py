"""The local stack: PostgreSQL, Kafka, Kafka Connect + Debezium, MinIO, the
prediction API, the two Spark streaming jobs and the dashboard as processes.

`up` starts what is not running, in dependency order, and waits for each to be
healthy; it is harmless to run again. `down` stops in reverse order and keeps the
data under the run directory, so `down` then `up` resumes where it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from fraudlake import settings as cfg
from fraudlake.stack.api import PredictionApi
from fraudlake.stack.connect import KafkaConnect
from fraudlake.stack.dashboard import Dashboard
from fraudlake.stack.jobs import LakehouseJob, PredictionJob
from fraudlake.stack.kafka import Kafka
from fraudlake.stack.minio import Minio
from fraudlake.stack.postgres import Postgres
from fraudlake.stack.process import StackError

__all__ = ["StackError", "components", "up", "down", "status", "state_word"]


class Component(Protocol):
    name: str

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def status(self) -> dict: ...
    def pid(self) -> int | None: ...


def components() -> list[Component]:
    """Every component, in start order."""
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
        Dashboard(paths, cfg.get_dashboard_settings()),
    ]


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
        echo(f"{component.name}: starting …")
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
            component.stop()


def status() -> dict[str, dict]:
    return {component.name: component.status() for component in components()}


def state_word(state: dict) -> str:
    """A component's status() in one word: up, starting? (its process runs but is not healthy) or down."""
    return "up" if state["healthy"] else ("starting?" if state["pid"] else "down")
