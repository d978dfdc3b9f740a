"""Kafka Connect in distributed mode with the Debezium PostgreSQL plugin.

The worker's configuration is `fraudlake/resources/kafka/connect-distributed.properties`,
the connector's `fraudlake/resources/debezium/connectors/<name>.json`; their addresses,
secrets and the topic prefix are `${env:…}` references that the worker resolves from its
environment (EnvVarConfigProvider), so the same files serve docker compose and the local stack.
Registration is idempotent: PUT the config, then wait for connector and task to run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from fraudlake.settings import ConnectSettings, KafkaSettings, PathSettings, PostgresSettings
from fraudlake.resources import resource
from fraudlake.stack.artifacts import plugin_dir
from fraudlake.stack.kafka import LOG4J2_CONFIG, java_command
from fraudlake.stack.process import DaemonComponent, StackError
from fraudlake.stack.rundir import make_dir

# The worker's configuration, shared with compose's Connect image.
WORKER_CONFIG = resource("kafka", "connect-distributed.properties")
# What the worker logs for each change event it skips under `errors.tolerance=all`
# (the connector JSON's choice: a record its converter cannot write must not stop the
# pipeline), so `fraudlake status` counts them. An event too large for Kafka cannot
# occur: the connector cuts text columns to 16,000 characters (PRODUCER_MAX_TEXT_CHARS
# at most), and under exactly-once delivery a refused send would fail the task.
SKIPPED_EVENT_LOG_LINE = "Error encountered in task"


def connector_file(name: str) -> Path:
    return resource("debezium", "connectors", f"{name}.json")


def connector_env(postgres: PostgresSettings, connect: ConnectSettings, kafka: KafkaSettings) -> dict[str, str]:
    """The variables the connector JSON refers to, as the worker must see them."""
    return {
        "POSTGRES_HOST": postgres.postgres_host,
        "POSTGRES_PORT": str(postgres.postgres_port),
        "POSTGRES_DB": postgres.postgres_db,
        "DEBEZIUM_DB_USER": postgres.debezium_db_user,
        "DEBEZIUM_DB_PASSWORD": postgres.debezium_db_password.get_secret_value(),
        "POSTGRES_PUBLICATION": postgres.postgres_publication,
        "POSTGRES_SLOT": postgres.postgres_slot,
        "DEBEZIUM_HEARTBEAT_MS": str(connect.debezium_heartbeat_ms),
        "DEBEZIUM_POLL_INTERVAL_MS": str(connect.debezium_poll_interval_ms),
        "KAFKA_TOPIC_PREFIX": kafka.kafka_topic_prefix,
    }


# Connect answers a request its herder has not handled within 90 s with a 500.
REQUEST_TIMEOUT_S = 90
# What a worker answers while it joins its group or catches up with the config topic.
NOT_YET_STATUSES = {409, 500, 503}


class ConnectClient:
    """The few Kafka Connect REST calls fraudlake makes."""

    def __init__(self, url: str):
        self.http = httpx.Client(base_url=url, timeout=10)

    def alive(self) -> bool:
        return self.http.get("/").status_code == 200

    def put_config(self, name: str, config: dict, deadline: float) -> None:
        """PUT the connector's config, retried until `deadline` (time.monotonic) while the
        worker cannot take it yet.

        A worker's REST server answers before its herder has joined the group, and a
        config request waits for the herder, which after a kill -9 first waits for what
        the dead worker left open (its group membership, its open transaction) to
        expire: 52–60 s here. So a read timeout, 409 (rebalance in progress) and 500
        (Connect's own request timeout) mean "not yet"; any other error is a refusal."""
        while True:
            read_timeout = max(1.0, min(REQUEST_TIMEOUT_S, deadline - time.monotonic()))
            try:
                response = self.http.put(f"/connectors/{name}/config", json=config,
                                         timeout=httpx.Timeout(10, read=read_timeout))
            except httpx.TimeoutException as timeout:
                answer = f"no answer in {read_timeout:.0f} s ({type(timeout).__name__})"
            else:
                if response.status_code < 400:
                    return
                answer = f"{response.status_code} {response.text}"
                if response.status_code not in NOT_YET_STATUSES:
                    raise StackError(f"Kafka Connect refused connector {name}: {answer}")
            if time.monotonic() >= deadline:
                raise StackError(f"Kafka Connect did not take connector {name} in time: {answer}")
            time.sleep(1)

    def state(self, name: str) -> dict | None:
        response = self.http.get(f"/connectors/{name}/status")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def register(self, name: str, config: dict, timeout: float = 180) -> dict:
        deadline = time.monotonic() + timeout
        self.put_config(name, config, deadline)
        state: dict | None = None
        while time.monotonic() < deadline:
            try:
                state = self.state(name)
            except httpx.TimeoutException:  # the herder is still busy, as in put_config
                continue
            tasks = (state or {}).get("tasks", [])
            if any(task["state"] == "FAILED" for task in tasks):
                trace = next(t.get("trace", "") for t in tasks if t["state"] == "FAILED")
                raise StackError(f"connector {name} task failed:\n{trace[:3000]}")
            if state and state["connector"]["state"] == "RUNNING" and tasks and all(
                task["state"] == "RUNNING" for task in tasks
            ):
                return state
            time.sleep(1)
        raise StackError(f"connector {name} not RUNNING after {timeout:.0f} s: {json.dumps(state)}")


def register_connector(client: ConnectClient, name: str) -> dict:
    """PUT `resources/debezium/connectors/<name>.json` and wait for it to run; returns its status."""
    spec = json.loads(connector_file(name).read_text())
    return client.register(name, spec["config"])


class KafkaConnect(DaemonComponent):
    name = "connect"
    label = "Kafka Connect"

    def __init__(self, paths: PathSettings, settings: ConnectSettings, kafka: KafkaSettings,
                 postgres: PostgresSettings):
        super().__init__(paths, settings)
        self.kafka = kafka
        self.postgres = postgres
        self.home = (paths.fraudlake_run_dir / "connect").resolve()
        self.client = ConnectClient(settings.connect_url)

    def ports(self) -> list[tuple[str, int]]:
        return [("CONNECT_PORT", self.settings.connect_port)]

    def _write_config(self) -> Path:
        """WORKER_CONFIG with this machine's plugin directory, and the log configuration."""
        make_dir(self.home)
        config = self.home / "connect-distributed.properties"
        config.write_text(f"{WORKER_CONFIG.read_text()}plugin.path={plugin_dir(self.paths)}\n")
        log4j = self.home / "log4j2.properties"
        log4j.write_text(LOG4J2_CONFIG.format(log=self.daemon.log_file)
                         + "logger.debezium.name = io.debezium\nlogger.debezium.level = INFO\n")
        return config

    def worker_env(self) -> dict[str, str]:
        """What WORKER_CONFIG and the connector JSON read from the environment."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka.kafka_bootstrap_servers,
            "CONNECT_LISTENERS": f"http://127.0.0.1:{self.settings.connect_port}",
            **connector_env(self.postgres, self.settings, self.kafka),
        }

    def healthy(self) -> bool:
        return self.client.alive()

    def start(self) -> None:
        if self.pid() is None:
            self.claim_ports()
            config = self._write_config()
            self.daemon.spawn(
                java_command(self.paths, self.settings.connect_heap, self.home / "log4j2.properties",
                             "org.apache.kafka.connect.cli.ConnectDistributed", str(config)),
                env=self.worker_env(),
            )
        self.wait_healthy(timeout=120)
        register_connector(self.client, self.settings.connector_name)

    def status(self) -> dict:
        result = {**super().status(), "connector": None}
        if not result["healthy"]:
            return result
        try:
            state = self.client.state(self.settings.connector_name)
            if state:
                tasks = ",".join(task["state"] for task in state.get("tasks", []))
                result["connector"] = f"{state['connector']['state']} (tasks: {tasks or 'none'})"
        except httpx.HTTPError:
            pass
        if skipped := self.skipped_events():
            result["connector"] = (f"{result['connector']}; {skipped:,} change events skipped, "
                                   f"see {self.daemon.log_file}")
        return result

    def skipped_events(self) -> int:
        """Change events the worker could not convert or send and skipped, per its log."""
        try:
            with open(self.daemon.log_file, errors="replace") as log:
                return sum(SKIPPED_EVENT_LOG_LINE in line for line in log)
        except OSError:
            return 0
