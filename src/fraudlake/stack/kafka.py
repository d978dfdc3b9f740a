"""A single-node Kafka broker in KRaft combined mode, and the CDC topic.

The broker runs from the jars Maven fetched (no distribution tarball): `kafka.Kafka`
with a generated server.properties. Its log directory is formatted once with
`StorageTool format --standalone`, which is what makes a one-node controller quorum.
"""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from fraudlake.settings import KafkaSettings, PathSettings
from fraudlake.stack.artifacts import jar_dir, require_tool
from fraudlake.stack.process import DaemonComponent, StackError, run
from fraudlake.stack.rundir import make_dir

LOG4J2_CONFIG = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = INFO
"""


def java_command(paths: PathSettings, heap: str, log4j_file: Path, main: str, *args: str) -> list[str]:
    """A JVM on the Kafka/Connect classpath; shared by the broker and the Connect worker."""
    java = require_tool("java")
    return [java, f"-Xmx{heap}", f"-Xms{heap}", "-XX:+UseG1GC", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j_file}",
            "-cp", str(jar_dir(paths, "kafka") / "*"), main, *args]


def admin_client(settings: KafkaSettings) -> AdminClient:
    # log_level 0: a probe of a broker that is still starting is expected to fail quietly.
    return AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers, "socket.timeout.ms": 5000,
                        "log_level": 0})


class Kafka(DaemonComponent):
    name = "kafka"
    label = "Kafka"

    settings: KafkaSettings

    def __init__(self, paths: PathSettings, settings: KafkaSettings):
        super().__init__(paths, settings)
        self.home = (paths.fraudlake_run_dir / "kafka").resolve()

    def ports(self) -> list[tuple[str, int]]:
        return [("KAFKA_PORT", self.settings.kafka_port), ("KAFKA_CONTROLLER_PORT", self.settings.kafka_controller_port)]

    def _write_config(self) -> Path:
        make_dir(self.home)
        port, controller = self.settings.kafka_port, self.settings.kafka_controller_port
        advertised = self.settings.kafka_bootstrap_servers.split(",")[0]
        config = self.home / "server.properties"
        config.write_text("\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.bootstrap.servers=127.0.0.1:{controller}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
            f"advertised.listeners=PLAINTEXT://{advertised}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            f"log.dirs={self.home / 'data'}",
            f"num.partitions={self.settings.kafka_topic_partitions}",
            # One broker: every internal topic has one replica.
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=true",
            "log.retention.hours=168",
            "",
        ]))
        (self.home / "log4j2.properties").write_text(LOG4J2_CONFIG.format(log=self.daemon.log_file))
        return config

    def healthy(self) -> bool:
        metadata = admin_client(self.settings).list_topics(timeout=3)
        return len(metadata.brokers) > 0

    def start(self) -> None:
        if self.pid() is None:
            self.claim_ports()
            config = self._write_config()
            log4j = self.home / "log4j2.properties"
            if not (self.home / "data" / "meta.properties").exists():
                run(java_command(self.paths, "256m", log4j, "kafka.tools.StorageTool",
                                 "format", "--standalone", "-t", _cluster_id(), "-c", str(config)),
                    what="formatting the Kafka log directory")
            self.daemon.spawn(java_command(self.paths, self.settings.kafka_heap, log4j, "kafka.Kafka", str(config)))
        self.wait_healthy(timeout=90)
        self.ensure_topic()

    def ensure_topic(self) -> None:
        admin = admin_client(self.settings)
        topic = self.settings.kafka_topic
        if topic in admin.list_topics(timeout=10).topics:
            return
        futures = admin.create_topics([NewTopic(topic, num_partitions=self.settings.kafka_topic_partitions,
                                                replication_factor=1)])
        try:
            futures[topic].result(timeout=30)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise

    def end_offsets(self) -> dict[int, int]:
        """High watermark of each partition of the CDC topic."""
        return topic_end_offsets(self.settings, timeout=5)


class TopicUnavailable(StackError):
    """The CDC topic cannot be read; the message names the setting to check."""


def topic_end_offsets(settings: KafkaSettings, timeout: float = 10) -> dict[int, int]:
    """The high watermark of each partition of the CDC topic."""
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": "fraudlake-status",
                         "enable.auto.commit": False, "log_level": 0})
    try:
        try:
            metadata = consumer.list_topics(settings.kafka_topic, timeout=timeout)
        except KafkaException as exc:
            raise TopicUnavailable(
                f"Kafka is not reachable at {settings.kafka_bootstrap_servers} (KAFKA_BOOTSTRAP_SERVERS): {exc}") from exc
        topic = metadata.topics.get(settings.kafka_topic)
        if topic is None or topic.error is not None or not topic.partitions:
            raise TopicUnavailable(
                f"topic {settings.kafka_topic!r} (KAFKA_TOPIC_PREFIX) does not exist on {settings.kafka_bootstrap_servers}; "
                "is the Debezium connector registered (`fraudlake connector register`)?")
        return {p: consumer.get_watermark_offsets(TopicPartition(settings.kafka_topic, p), timeout=timeout)[1]
                for p in sorted(topic.partitions)}
    finally:
        consumer.close()


def _cluster_id() -> str:
    """16 random bytes in URL-safe base64 without padding, as Kafka's own Uuid.randomUuid
    makes them: never starting with "-", which the storage tool would take for an option
    (one id in 64 did, failing `format` at random)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id
