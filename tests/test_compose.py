"""docker-compose.yml, checked without a Docker engine: it parses, and it agrees with
the settings, the connector file and the SQL the local stack uses."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET

import pytest
import yaml

from fraudlake import settings as cfg
from fraudlake.envfile import ensure_env_file
from fraudlake.stack.artifacts import MINIO_MODULE, POM
from fraudlake.stack.connect import WORKER_CONFIG, KafkaConnect, connector_file
from tests.conftest import REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.yml"
SPARK_DOCKERFILE = REPO_ROOT / "services" / "spark" / "Dockerfile"

_LAKEHOUSE_SETTINGS = (cfg.PathSettings, cfg.PostgresSettings, cfg.KafkaSettings, cfg.MinioSettings,
                       cfg.SparkSettings, cfg.StreamingSettings)
# compose service -> (entry point, the settings classes the job reads, its Spark UI port setting)
SPARK_JOBS = {
    "lakehouse-job": ("spark/app/streaming_job.py", _LAKEHOUSE_SETTINGS, "lakehouse_ui_port"),
    "prediction-job": ("spark/app/realtime_prediction_job.py",
                       (*_LAKEHOUSE_SETTINGS, cfg.AlertSettings, cfg.ModelSettings, cfg.ApiSettings),
                       "prediction_ui_port"),
}
# Where the prediction API listens: only its own container needs that.
LISTEN_ADDRESSES = {"api_host"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _pom_version(name: str) -> str:
    namespace = {"m": "http://maven.apache.org/POM/4.0.0"}
    return ET.parse(POM).getroot().find(f"m:properties/m:{name}", namespace).text


def _pyproject_pin(package: str) -> str:
    dependencies = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["spark"]
    (pin,) = [dep.split("==")[1] for dep in dependencies if dep.startswith(f"{package}==")]
    return pin


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def _host(address: str) -> str:
    return re.match(r"(?:\w+://)?([\w.-]+)", address).group(1)


def test_docker_compose_config_accepts_the_file(tmp_path):
    # docker-compose (Debian's, installed by scripts/bootstrap.sh) validates and
    # interpolates statically; no engine is needed. It runs in a scratch project with
    # the `.env` a user would have made, since a fresh checkout has none.
    ensure_env_file(tmp_path / ".env", REPO_ROOT / ".env.example")
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    for folder in ("src", "services", "data"):
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
        "LAKEHOUSE_UI_PORT": cfg.StreamingSettings.model_fields["lakehouse_ui_port"].default,
        "PREDICTION_UI_PORT": cfg.StreamingSettings.model_fields["prediction_ui_port"].default,
        "DASHBOARD_PORT": cfg.DashboardSettings.model_fields["dashboard_port"].default,
    }
    published = " ".join(port for service in compose["services"].values() for port in service.get("ports", []))
    for variable, default in defaults.items():
        assert f"${{{variable}:-{default}}}" in published, variable


def _env_references(path) -> set[str]:
    return set(re.findall(r"\$\{env:(\w+)\}", path.read_text()))


def test_both_connect_workers_get_every_variable_their_files_refer_to(compose):
    referenced = _env_references(connector_file("postgres-transactions")) | _env_references(WORKER_CONFIG)
    assert {"KAFKA_BOOTSTRAP_SERVERS", "POSTGRES_HOST", "KAFKA_TOPIC_PREFIX"} <= referenced
    assert referenced <= set(compose["services"]["connect"]["environment"])
    local = KafkaConnect(cfg.get_path_settings(), cfg.get_connect_settings(), cfg.get_kafka_settings(),
                         cfg.get_postgres_settings())
    assert referenced <= set(local.worker_env())
    assert "config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider" in (
        WORKER_CONFIG.read_text().splitlines())


def test_compose_connect_is_the_brokers_kafka_with_the_poms_plugin_and_the_packaged_config(compose):
    services = compose["services"]
    assert services["kafka"]["image"] == f"apache/kafka:{_pom_version('kafka.version')}"
    dockerfile = (REPO_ROOT / services["connect"]["build"]["dockerfile"]).read_text()
    assert re.findall(r"^FROM (\S+)", dockerfile, re.M)[-1] == services["kafka"]["image"]
    assert "-f /jvm/pom.xml -P debezium dependency:unpack-dependencies" in dockerfile
    assert "COPY src/fraudlake/resources/kafka/connect-distributed.properties" in dockerfile


def test_every_service_the_project_builds_has_its_dockerfile(compose):
    for name, service in compose["services"].items():
        if "build" in service:
            assert (REPO_ROOT / service["build"]["dockerfile"]).is_file(), name


def test_postgres_runs_with_logical_decoding_and_the_project_sql(compose):
    postgres = compose["services"]["postgres"]
    assert "wal_level=logical" in postgres["command"]
    mounted = " ".join(postgres["volumes"])
    # The SQL the package ships (what `make up` applies), mounted from the checkout.
    assert "./src/fraudlake/resources/debezium/postgres:/fraudlake-sql" in mounted
    assert "docker-entrypoint-initdb.d" in mounted


def test_spark_and_kafka_run_the_versions_the_pom_pins(compose):
    assert _pyproject_pin("pyspark") == _pom_version("spark.version")
    assert _pyproject_pin("delta-spark") == _pom_version("delta.version")
    images = {"apache/kafka": _pom_version("kafka.version")}
    for name, service in compose["services"].items():
        repository, _, tag = service.get("image", "").partition(":")
        if repository in images:
            assert tag == images[repository], f"{name} runs {service['image']}"


def test_the_spark_image_takes_pyspark_from_the_project_and_the_jars_from_the_pom():
    dockerfile = SPARK_DOCKERFILE.read_text()
    # pyspark comes with the spark extra (pinned in pyproject.toml), never pinned twice.
    assert 'pip install ".[spark]"' in dockerfile and not re.search(r"pyspark\s*[=<>~]", dockerfile)
    assert "fraudlake fetch --only spark" in dockerfile
    assert re.search(r"^FROM python:3\.11-slim-bookworm$", dockerfile, re.M)


def test_the_jobs_find_the_jars_where_the_image_put_them(compose):
    # .env names the host's cache directory and would win over the image's ENV.
    (cache_dir,) = re.findall(r"^ENV FRAUDLAKE_CACHE_DIR=(\S+)$", SPARK_DOCKERFILE.read_text(), re.M)
    for name in SPARK_JOBS:
        assert compose["services"][name]["environment"]["FRAUDLAKE_CACHE_DIR"] == cache_dir, name


def test_the_worker_and_the_jobs_use_the_master_the_master_runs(compose):
    services = compose["services"]
    master_command = services["spark-master"]["command"]
    assert master_command[1] == "org.apache.spark.deploy.master.Master"
    master_url = f"spark://{_option(master_command, '--host')}:{_option(master_command, '--port')}"
    assert _option(master_command, "--host") == "spark-master"
    worker_command = services["spark-worker"]["command"]
    assert worker_command[1] == "org.apache.spark.deploy.worker.Worker" and worker_command[-1] == master_url
    for name, (entry_point, _, _) in SPARK_JOBS.items():
        job = services[name]
        assert job["command"] == ["python", entry_point] and (REPO_ROOT / entry_point).is_file(), name
        assert job["environment"]["SPARK_MASTER"] == master_url, name
        # Executors connect back to the driver by this name.
        assert job["environment"]["SPARK_DRIVER_HOST"] == name
        assert job["depends_on"]["spark-worker"]["condition"] == "service_healthy"
        assert job["restart"] == "unless-stopped"
    assert services["prediction-job"]["depends_on"]["prediction-api"]["condition"] == "service_healthy"


def test_the_jobs_get_every_setting_they_read_and_no_loopback_address(compose, tmp_path):
    ensure_env_file(tmp_path / ".env", REPO_ROOT / ".env.example")
    env_file = {line.split("=", 1)[0] for line in (tmp_path / ".env").read_text().splitlines()
                if "=" in line and not line.startswith("#")}
    services = compose["services"]
    for name, (_, classes, _) in SPARK_JOBS.items():
        job = services[name]
        assert job["env_file"] == ".env", name
        environment = job["environment"]
        for cls in classes:
            for field_name, field in cls.model_fields.items():
                variable = field_name.upper()
                assert variable in environment or variable in env_file, f"{name} lacks {variable}"
                local = isinstance(field.default, str) and re.search(r"127\.0\.0\.1|localhost|^local\[", field.default)
                if local and field_name not in LISTEN_ADDRESSES:
                    # .env holds the local stack's address; in compose, the service's name.
                    assert _host(environment.get(variable, field.default)) in services, f"{name}: {variable}"
    api_port = services["prediction-api"]["environment"]["API_PORT"]
    assert services["prediction-job"]["environment"]["API_URL"] == f"http://prediction-api:{api_port}"


def test_spark_health_checks_ask_the_ui_each_service_runs(compose):
    services = compose["services"]
    for name in ("spark-master", "spark-worker"):
        port = _option(services[name]["command"], "--webui-port")
        assert f"http://127.0.0.1:{port}/json/" in " ".join(services[name]["healthcheck"]["test"]), name
        assert any(str(mapping).endswith(f":{port}") for mapping in services[name]["ports"]), name
    for name, (_, _, port_field) in SPARK_JOBS.items():
        default = cfg.StreamingSettings.model_fields[port_field].default
        # $$: the job's container expands it, so the check follows what the job read from .env.
        check = f"http://127.0.0.1:$${{{port_field.upper()}:-{default}}}/"
        assert check in " ".join(services[name]["healthcheck"]["test"]), name


def test_the_dashboard_reads_the_database_api_and_files_of_the_compose_stack(compose):
    dashboard = compose["services"]["dashboard"]
    environment = dashboard["environment"]
    assert dashboard["env_file"] == ".env"
    # .env names the local stack's loopback addresses; in compose, the services' names.
    assert _host(environment["POSTGRES_HOST"]) == "postgres" and _host(environment["API_URL"]) == "prediction-api"
    assert _host(environment["KAFKA_BOOTSTRAP_SERVERS"]) == "kafka" and _host(environment["CONNECT_URL"]) == "connect"
    assert environment["DASHBOARD_HOST"] == "0.0.0.0"
    port = environment["DASHBOARD_PORT"]
    assert dashboard["ports"] == [f"${{DASHBOARD_PORT:-8501}}:{port}"]
    assert f"http://127.0.0.1:{port}/_stcore/health" in " ".join(dashboard["healthcheck"]["test"])
    assert f"./data:{environment['DASHBOARD_CSV_DIR']}:ro" in dashboard["volumes"]
    dockerfile = (REPO_ROOT / dashboard["build"]["dockerfile"]).read_text()
    assert 'pip install ".[dashboard]"' in dockerfile and 'CMD ["fraudlake", "dashboard"]' in dockerfile


def test_every_long_running_service_is_restarted_when_it_crashes(compose):
    """Under compose the restart policy is the supervisor: a killed process comes back."""
    services = compose["services"]
    for name, service in services.items():
        assert service.get("restart") in ("no", "unless-stopped"), name
    long_running = {name for name, service in services.items() if service["restart"] == "unless-stopped"}
    assert {"postgres", "kafka", "connect", "minio", "prediction-api", "spark-master", "spark-worker",
            "lakehouse-job", "prediction-job", "alert-sender", "dashboard"} <= long_running


def _dockerfiles(compose: dict) -> dict[str, str]:
    return {service["build"]["dockerfile"]: (REPO_ROOT / service["build"]["dockerfile"]).read_text()
            for service in compose["services"].values() if "build" in service}


def test_every_image_is_pinned_to_a_version(compose):
    for name, service in compose["services"].items():
        if "image" in service:
            # A release, not a moving tag such as `latest` or a bare major like `postgres:15`.
            assert re.search(r":\d+\.\d+", service["image"]), f"{name} runs {service['image']}"
    for path, dockerfile in _dockerfiles(compose).items():
        for base in re.findall(r"^FROM (\S+)", dockerfile, re.M):
            repository, _, tag = base.partition(":")
            assert tag and tag != "latest", f"{path}: FROM {base}"


def test_postgres_runs_the_major_version_the_local_stack_installs(compose):
    (local_major,) = set(re.findall(r"postgresql-(\d+)", (REPO_ROOT / "scripts" / "bootstrap.sh").read_text()))
    assert compose["services"]["postgres"]["image"].startswith(f"postgres:{local_major}.")


def test_minio_is_built_from_the_module_the_local_stack_builds(compose):
    """MinIO publishes no community images any more; compose builds the local stack's pin."""
    services = compose["services"]
    dockerfile = services["minio"]["build"]["dockerfile"]
    assert services["minio-init"]["build"]["dockerfile"] == dockerfile
    assert f"ARG MINIO_MODULE={MINIO_MODULE}\n" in (REPO_ROOT / dockerfile).read_text()


def test_each_image_installs_only_its_own_extra(compose):
    roles = {"services/prediction-api/Dockerfile": "api", "services/data-producer/Dockerfile": "producer",
             "services/spark/Dockerfile": "spark", "services/dashboard/Dockerfile": "dashboard",
             "services/airflow/Dockerfile": "scheduled"}
    for path, dockerfile in _dockerfiles(compose).items():
        installs = re.findall(r"pip install (\S+)", dockerfile)
        if path == "services/airflow/Dockerfile":  # and Airflow itself, pinned, in a virtualenv of its own
            assert installs == ['".[scheduled]"', "-r"], path
        elif path in roles:
            assert installs == [f'".[{roles[path]}]"'], path
        else:
            assert not installs, path


def test_the_topic_is_named_once_by_its_prefix(compose):
    """KAFKA_TOPIC_PREFIX is the one statement: the connector takes it through ${env:…},
    compose creates the topic and hands Connect the prefix with the settings' default."""
    from fraudlake.schema import CDC_TABLE

    config = json.loads(connector_file("postgres-transactions").read_text())["config"]
    assert config["topic.prefix"] == "${env:KAFKA_TOPIC_PREFIX}"
    assert config["table.include.list"] == CDC_TABLE
    default = cfg.KafkaSettings.model_fields["kafka_topic_prefix"].default
    services = compose["services"]
    assert services["connect"]["environment"]["KAFKA_TOPIC_PREFIX"] == f"${{KAFKA_TOPIC_PREFIX:-{default}}}"
    assert _option(services["kafka-init"]["command"], "--topic") == f"${{KAFKA_TOPIC_PREFIX:-{default}}}.{CDC_TABLE}"


def test_airflow_runs_under_its_profile_and_shares_the_model_registry_with_the_api(compose):
    airflow, api = compose["services"]["airflow"], compose["services"]["prediction-api"]
    assert airflow["profiles"] == ["airflow"]
    assert airflow["ports"] == [f"${{AIRFLOW_PORT:-{cfg.AirflowSettings.model_fields['airflow_port'].default}}}:8080"]
    registry = airflow["environment"]["MODEL_REGISTRY_DIR"]
    assert api["environment"]["MODEL_REGISTRY_DIR"] == registry
    assert f"models:{registry}" in airflow["volumes"] and f"models:{registry}:ro" in api["volumes"]
    assert "airflow/requirements.txt" in (REPO_ROOT / airflow["build"]["dockerfile"]).read_text()
