"""docker-compose.yml, checked without a Docker engine: it parses, and it agrees with
the settings, the connector file and the SQL the local stack uses."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from fraudlake import settings as cfg
from fraudlake.envfile import ensure_env_file
from fraudlake.stack.artifacts import REPO_ROOT
from fraudlake.stack.connect import connector_file

COMPOSE = REPO_ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_docker_compose_config_accepts_the_file(tmp_path):
    # docker-compose (Debian's, installed by scripts/bootstrap.sh) validates and
    # interpolates statically; no engine is needed. It runs in a scratch project with
    # the `.env` a user would have made, since a fresh checkout has none.
    ensure_env_file(tmp_path / ".env", REPO_ROOT / ".env.example")
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    for folder in ("debezium", "services", "data"):
        (tmp_path / folder).symlink_to(REPO_ROOT / folder)
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose missing: scripts/bootstrap.sh installs it"
    result = subprocess.run([binary, "--project-directory", str(tmp_path), "-f", str(tmp_path / "docker-compose.yml"),
                             "config", "-q"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_long_running_service_has_a_health_check(compose):
    one_shot = {name for name, service in compose["services"].items() if service.get("restart") == "no"}
    for name, service in compose["services"].items():
        if name not in one_shot:
            assert "healthcheck" in service, f"{name} has no healthcheck"


def test_published_ports_default_to_the_settings_defaults(compose):
    defaults = {
        "POSTGRES_PORT": cfg.PostgresSettings.model_fields["postgres_port"].default,
        "KAFKA_PORT": cfg.KafkaSettings.model_fields["kafka_port"].default,
        "CONNECT_PORT": cfg.ConnectSettings.model_fields["connect_port"].default,
        "MINIO_PORT": cfg.MinioSettings.model_fields["minio_port"].default,
        "MINIO_CONSOLE_PORT": cfg.MinioSettings.model_fields["minio_console_port"].default,
        "API_PORT": cfg.ApiSettings.model_fields["api_port"].default,
    }
    published = " ".join(port for service in compose["services"].values() for port in service.get("ports", []))
    for variable, default in defaults.items():
        assert f"${{{variable}:-{default}}}" in published, variable


def test_connect_gets_every_variable_the_connector_file_refers_to(compose):
    referenced = set(re.findall(r"\$\{env:(\w+)\}", connector_file("postgres-transactions").read_text()))
    environment = compose["services"]["connect"]["environment"]
    assert referenced and referenced <= set(environment)
    assert environment["CONNECT_CONFIG_PROVIDERS_ENV_CLASS"].endswith("EnvVarConfigProvider")


def test_every_service_the_project_builds_has_its_dockerfile(compose):
    for name, service in compose["services"].items():
        if "build" in service:
            assert (REPO_ROOT / service["build"]["dockerfile"]).is_file(), name


def test_postgres_runs_with_logical_decoding_and_the_project_sql(compose):
    postgres = compose["services"]["postgres"]
    assert "wal_level=logical" in postgres["command"]
    mounted = " ".join(postgres["volumes"])
    assert "./debezium/postgres:/fraudlake-sql" in mounted and "docker-entrypoint-initdb.d" in mounted
