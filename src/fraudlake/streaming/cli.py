"""`fraudlake streaming restart`: what scripts/restart-streaming-services.sh and .ps1 call.

Stops the chosen jobs, optionally deletes their checkpoints, starts them and waits
until each of their queries reports progress from the new run. Exits non-zero with
the reason when a job does not come back; never reports a start it did not see.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import click

from fraudlake import settings as cfg

JOB_NAMES = {"lakehouse": ["lakehouse"], "bronze": ["lakehouse"], "prediction": ["prediction"],
             "all": ["lakehouse", "prediction"]}
# The compose services that run each job (docker-compose.yml).
COMPOSE_SERVICES = {"lakehouse": "lakehouse-job", "prediction": "prediction-job"}


@click.group()
def streaming() -> None:
    """The two streaming jobs together: restart, checkpoints."""


@streaming.command("restart")
@click.option("--job", "job", type=click.Choice(sorted(JOB_NAMES)), default="all", show_default=True,
              help="Which job: the lakehouse job (`bronze` is the same), the prediction job, or both.")
@click.option("--clear-checkpoints", is_flag=True,
              help="Delete the jobs' checkpoints in MinIO before starting them again. Nothing is written twice: "
                   "bronze resumes from its own offsets, predictions and alerts are deduplicated.")
@click.option("--compose", is_flag=True, help="The jobs run under docker compose, not as `make up` processes.")
@click.option("--timeout", default=240.0, show_default=True, help="Seconds to wait for each job to report progress.")
def restart_command(job: str, clear_checkpoints: bool, compose: bool, timeout: float) -> None:
    """Restart the streaming jobs (optionally from no checkpoint) and wait until they run."""
    for name in JOB_NAMES[job]:
        (_restart_compose if compose else _restart_local)(name, clear_checkpoints, timeout)


def _clear(name: str) -> None:
    from fraudlake.streaming.checkpoints import clear_checkpoints

    for prefix in clear_checkpoints(name):
        click.echo(f"{name}: cleared {prefix}")


def _restart_local(name: str, clear_checkpoints: bool, timeout: float) -> None:
    from fraudlake.stack import components, locked

    (component,) = [c for c in components() if c.name == name]
    with locked(component):  # the supervisor leaves it alone meanwhile
        click.echo(f"{name}: stopping …")
        component.stop()
        if clear_checkpoints:
            _clear(name)
        click.echo(f"{name}: starting …")
        component.start_timeout = timeout
        component.start()
    click.echo(f"{name}: running (pid {component.pid()}), every query reporting progress")


def _restart_compose(name: str, clear_checkpoints: bool, timeout: float) -> None:
    from fraudlake.stack import StackError
    from fraudlake.stack.jobs import JobFailed
    from fraudlake.stack.process import run
    from fraudlake.streaming.checkpoints import JOB_QUERIES
    from fraudlake.streaming.progress import read_progress

    service = COMPOSE_SERVICES[name]
    click.echo(f"{name}: docker compose stop {service}")
    run(["docker", "compose", "stop", service], what=f"stopping {service}")
    if clear_checkpoints:
        _clear(name)
    since = datetime.now(UTC)
    run(["docker", "compose", "up", "-d", service], what=f"starting {service}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = [q for q in read_progress(cfg.get_postgres_settings(), name) if q.updated_at >= since]
        failed = [q for q in rows if q.query == "job" and q.state == "failed"]
        if failed:
            raise JobFailed(f"{service} could not start: {failed[0].error}")
        if {q.query for q in rows if q.state == "running" and q.batch_id is not None} >= set(JOB_QUERIES[name]):
            click.echo(f"{name}: {service} running, every query reporting progress")
            return
        time.sleep(2)
    raise StackError(f"{service}: no progress from every query within {timeout:.0f} s; "
                     f"see `docker compose logs {service}`")
