"""fraudlake as a service image has it: the built wheel, installed (not editable), run
from a directory outside the checkout. Every file the package reads at run time must
have shipped with it (fraudlake/resources/__init__.py states the rule)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from fraudlake import settings as cfg
from tests.conftest import REPO_ROOT, _start

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """A fresh virtualenv outside the checkout holding the wheel built from it.

    The third-party packages come from the project's virtualenv through a .pth line
    (installing them again would take minutes); fraudlake itself only from the wheel:
    that .pth adds a directory to sys.path without running the editable install's own
    .pth hook, so the checkout's src/ is not reachable.
    """
    root = tmp_path_factory.mktemp("outside")
    assert not root.resolve().is_relative_to(REPO_ROOT)
    # Built from a copy: setuptools leaves build/ and egg-info beside the sources it builds.
    source = root / "source"
    shutil.copytree(REPO_ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(root / "dist"), str(source)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = (root / "dist").glob("fraudlake-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    site = Path(subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                        text=True).strip())
    (site / "project-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
                    str(wheel)], check=True, capture_output=True, timeout=300)
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    where = subprocess.run([str(python), "-c", "import fraudlake, fraudlake.settings as s; "
                            "print(*fraudlake.__path__, s.__file__, sep='\\n')"],
                           cwd=root, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert where and all(Path(path).is_relative_to(site) for path in where), where
    return {"cwd": root, "env": env, "bin": venv / "bin", "site": site}


def _run(installed: dict, *argv: str, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    result = subprocess.run(list(argv), cwd=installed["cwd"], env={**installed["env"], **(env or {})},
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{argv}:\n{result.stdout}\n{result.stderr}"
    return result


def test_the_wheel_ships_every_file_the_package_reads(installed):
    shipped = installed["site"] / "fraudlake"
    for relative in ("resources/debezium/postgres/00-cluster.sql", "resources/debezium/postgres/10-fraudlake.sql",
                     "resources/debezium/postgres/docker-init.sh",
                     "resources/debezium/connectors/postgres-transactions.json",
                     "resources/kafka/connect-distributed.properties",
                     "resources/jvm/pom.xml", "resources/jvm/settings.xml",
                     "model/default/model.json", "model/default/metadata.json", "dashboard/app.py"):
        assert (shipped / relative).is_file(), relative


def test_env_init_makes_a_settings_file_outside_the_checkout(installed):
    """`fraudlake env init` (what a user runs before `docker compose up`) needs no .env.example."""
    fresh = installed["cwd"] / "fresh"
    fresh.mkdir()
    env = {key: value for key, value in installed["env"].items() if key != "FRAUDLAKE_ENV_FILE"}
    result = subprocess.run([str(installed["bin"] / "fraudlake"), "env", "init"], cwd=fresh, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    values = dict(line.split("=", 1) for line in (fresh / ".env").read_text().splitlines()
                  if "=" in line and not line.startswith("#"))
    assert len(values["POSTGRES_PASSWORD"]) >= 16 and values["KAFKA_TOPIC_PREFIX"] == "postgres"


def test_the_database_init_runs_from_the_installed_package(installed):
    """What compose's postgres runs (the packaged docker-init.sh), then `make up`'s own
    (`fraudlake up --only postgres` applies the packaged SQL to the running cluster)."""
    _start({"postgres"})
    from fraudlake.stack.postgres import Postgres, bin_dir

    postgres = cfg.get_postgres_settings()
    cluster = Postgres(cfg.get_path_settings(), postgres)
    with psycopg.connect(postgres.conninfo(), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS packaging_probe")
    _run(installed, "bash", str(installed["site"] / "fraudlake/resources/debezium/postgres/docker-init.sh"), env={
        "FRAUDLAKE_SQL_DIR": str(installed["site"] / "fraudlake/resources/debezium/postgres"),
        "PATH": f"{bin_dir()}{os.pathsep}{installed['env']['PATH']}",
        "PGHOST": str(cluster.socket_dir), "PGPORT": str(postgres.postgres_port), "POSTGRES_USER": "postgres",
        "APP_DB": postgres.postgres_db, "APP_DB_USER": postgres.postgres_user,
        "APP_DB_PASSWORD": postgres.postgres_password.get_secret_value(),
        "DEBEZIUM_DB_USER": postgres.debezium_db_user,
        "DEBEZIUM_DB_PASSWORD": postgres.debezium_db_password.get_secret_value(),
        "POSTGRES_PUBLICATION": postgres.postgres_publication,
    })
    _run(installed, str(installed["bin"] / "fraudlake"), "up", "--only", "postgres", timeout=300)
    with psycopg.connect(postgres.conninfo()) as conn:
        tables = {row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"transactions", "fraud_predictions", "transactions_quarantine"} <= tables


def test_connector_registration_runs_from_the_installed_package(installed):
    """compose's connector-init: `fraudlake connector register` (PUT of the packaged JSON)."""
    _start({"postgres", "kafka", "connect"})
    result = _run(installed, str(installed["bin"] / "fraudlake"), "connector", "register", timeout=240)
    name = cfg.get_connect_settings().connector_name
    assert f"{name}: RUNNING" in result.stdout
    # What Connect holds is the packaged file, unresolved (${env:…} is resolved by the worker).
    packaged = json.loads((installed["site"] / f"fraudlake/resources/debezium/connectors/{name}.json").read_text())
    registered = httpx.get(f"{cfg.get_connect_settings().connect_url}/connectors/{name}/config", timeout=10).json()
    assert registered == {**packaged["config"], "name": name}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve_until_healthy(installed: dict, argv: list[str], url: str, env: dict | None = None) -> httpx.Response:
    """Start a server from the installed package, GET `url` once it answers, stop it."""
    server = subprocess.Popen(argv, cwd=installed["cwd"], env={**installed["env"], **(env or {})},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and server.poll() is None:
            try:
                return httpx.get(url, timeout=2)
            except httpx.TransportError:
                time.sleep(0.5)
        server.kill()
        pytest.fail(f"{argv} did not answer {url}:\n{server.communicate()[0]}")
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_api_serves_health_from_the_installed_package(installed):
    """compose's prediction-api: the API with the default model shipped in the wheel."""
    _start({"postgres"})
    port = _free_port()
    health = _serve_until_healthy(installed, [str(installed["bin"] / "fraudlake"), "serve-api", "--port", str(port)],
                                  f"http://127.0.0.1:{port}/health")
    # The model is the wheel's: no other fraudlake is importable there (the fixture checks).
    assert health.status_code == 200 and health.json()["model"]["ok"], health.text


def test_the_dashboard_serves_from_the_installed_package(installed):
    """compose's dashboard: `fraudlake dashboard`, the Streamlit script shipped in the wheel."""
    port = _free_port()
    health = _serve_until_healthy(installed, [str(installed["bin"] / "fraudlake"), "dashboard"],
                                  f"http://127.0.0.1:{port}/_stcore/health",
                                  env={"DASHBOARD_HOST": "127.0.0.1", "DASHBOARD_PORT": str(port)})
    assert health.status_code == 200, health.text


def test_the_producer_streams_from_the_installed_package(installed):
    """compose's data-producer: `fraudlake producer stream --generate`, a few rows."""
    postgres = _start({"postgres"}) or cfg.get_postgres_settings()
    with psycopg.connect(postgres.conninfo()) as conn:
        before = conn.execute("SELECT count(*) FROM transactions").fetchone()[0]
    _run(installed, str(installed["bin"] / "fraudlake"), "producer", "stream", "--generate", "--count", "5",
         "--tps", "50", "--no-progress")
    with psycopg.connect(postgres.conninfo()) as conn:
        assert conn.execute("SELECT count(*) FROM transactions").fetchone()[0] == before + 5
