"""Airflow's environment, derived from fraudlake's settings.

Airflow runs from its own virtualenv (`scripts/airflow.sh`, `make airflow`) with its
home, SQLite metadata and logs under FRAUDLAKE_RUN_DIR/airflow and the DAGs of
`airflow/dags/`. Nothing is configured in the Airflow UI: the DAGs' tasks run the
`fraudlake` CLI, which reads the same `.env` as the rest of the project, so the
environment below only has to tell Airflow where things are.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from fraudlake import settings as cfg


def airflow_environment() -> dict[str, str]:
    """What `airflow …` needs in its environment, absolute paths throughout. The DAGs are
    not package data: Airflow runs from a checkout (scripts/airflow.sh, the compose image's /app)."""
    run_dir = cfg.get_path_settings().fraudlake_run_dir.resolve()
    home = run_dir / "airflow"
    airflow = cfg.get_airflow_settings()
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(airflow.airflow_dags_dir.resolve()),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__WEBSERVER__WEB_SERVER_HOST": "127.0.0.1",
        "AIRFLOW__WEBSERVER__WEB_SERVER_PORT": str(airflow.airflow_port),
        # The REST API takes the admin login from .env too (e.g. curl -u), not only the UI session.
        "AIRFLOW__API__AUTH_BACKENDS": "airflow.api.auth.backend.basic_auth,airflow.api.auth.backend.session",
        "AIRFLOW__WEBSERVER__WORKERS": "2",  # gunicorn's default of 4 is a lot on a small machine
        # The tasks' fraudlake: the project's virtualenv, this checkout, these settings.
        "FRAUDLAKE_HOME": str(Path.cwd()),
        "FRAUDLAKE_BIN": str(Path(sys.executable).parent / "fraudlake"),
        "FRAUDLAKE_RUN_DIR": str(run_dir),
        "FRAUDLAKE_ENV_FILE": str(Path(cfg.env_file_path()).resolve()),
    }


@click.command("airflow-env")
def airflow_env_command() -> None:
    """Shell exports of Airflow's environment (`eval "$(fraudlake airflow-env)"`), with the
    admin login as AIRFLOW_ADMIN_USER / AIRFLOW_ADMIN_PASSWORD; creates `.env` if missing."""
    from fraudlake.envfile import ensure_env_file

    # Messages to stderr: stdout is for `eval`.
    if ensure_env_file(Path(cfg.env_file_path())):
        click.echo(f"created {cfg.env_file_path()} with generated passwords", err=True)
    cfg.reset_settings()
    airflow = cfg.get_airflow_settings()
    values = {**airflow_environment(), "AIRFLOW_ADMIN_USER": airflow.airflow_admin_user,
              "AIRFLOW_ADMIN_PASSWORD": airflow.airflow_admin_password.get_secret_value()}
    for name, value in values.items():
        click.echo(f"export {name}={shlex.quote(value)}")
