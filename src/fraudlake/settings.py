"""Every setting fraudlake reads, from the environment (and `.env`), in one place.

One class per subsystem; each field's description is the documentation that
`.env.example` repeats. Code asks for settings through the cached getters at the
bottom, never through `os.environ`, so a test can change the environment and call
`reset_settings()` to see the new values.

Secrets have no defaults: `fraudlake up` writes a `.env` with generated ones on first
run (see `fraudlake.envfile`), and docker compose reads the same file.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fraudlake.errors import SettingsError
from fraudlake.risk import RiskLevel
from fraudlake.schema import CDC_TABLE


def env_file_path() -> str:
    """The settings file: FRAUDLAKE_ENV_FILE, else `.env` in the working directory."""
    return os.environ.get("FRAUDLAKE_ENV_FILE", ".env")


class _Base(BaseSettings):
    # An empty value counts as unset, so an empty secret in .env is reported as missing.
    model_config = SettingsConfigDict(env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    def __init__(self, **values):  # env file chosen at construction time, so tests can move it
        env_file = env_file_path()
        try:
            super().__init__(_env_file=env_file, **values)
        except ValidationError as exc:
            # pydantic's report names fields in lower case and ends in a URL; the user
            # needs the variable's name and the file it is read from.
            raise SettingsError(_settings_problem(exc, env_file)) from None


def _settings_problem(exc: ValidationError, env_file: str) -> str:
    problems = [f"{'.'.join(str(part) for part in error['loc']).upper()}: {error['msg']}" for error in exc.errors()]
    path = Path(env_file).resolve()
    where = f"{path}" if path.exists() else f"{path}, which does not exist (`fraudlake env init` creates it with generated secrets)"
    return f"invalid settings: {'; '.join(problems)}. Set them in the environment or in {where}."


class PathSettings(_Base):
    """Where the local stack keeps its state and downloads."""

    fraudlake_run_dir: Path = Field(
        Path(".run"),
        description="Where the local stack keeps its data, pid files and logs (`make down` keeps it; delete it to start afresh).",
    )
    fraudlake_cache_dir: Path = Field(
        Path.home() / ".cache" / "fraudlake",
        description="Downloaded and built artifacts (Maven jars, the MinIO binary); shared by every checkout on the machine.",
    )

    postgres_bin_dir: Path | None = Field(
        None,
        description="Directory of the PostgreSQL server programs (initdb, pg_ctl) the local stack runs; empty: the newest /usr/lib/postgresql/*/bin, else initdb on PATH.",
    )

    @field_validator("fraudlake_run_dir", "fraudlake_cache_dir")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return Path(value).expanduser()

    @property
    def logs_dir(self) -> Path:
        return self.fraudlake_run_dir / "logs"

    @property
    def jars_dir(self) -> Path:
        return self.fraudlake_cache_dir / "jars"


class PostgresSettings(_Base):
    """The transactions database and Debezium's access to it."""

    postgres_host: str = Field("127.0.0.1", description="PostgreSQL host.")
    postgres_port: int = Field(5432, description="PostgreSQL port.")
    postgres_db: str = Field("fraudlake", description="Database holding `transactions` and `fraud_predictions`.")
    postgres_user: str = Field("fraudlake", description="Owner of the fraudlake tables; used by the producer, API and jobs.")
    postgres_password: SecretStr = Field(description="Password of POSTGRES_USER.")
    debezium_db_user: str = Field("debezium", description="Replication role Debezium connects as (REPLICATION + SELECT only).")
    debezium_db_password: SecretStr = Field(description="Password of DEBEZIUM_DB_USER.")
    postgres_publication: str = Field("fraudlake_transactions", description="Publication Debezium reads (holds `transactions` only).")
    postgres_slot: str = Field("fraudlake_debezium", description="Logical replication slot Debezium uses.")

    def conninfo(self, user: str | None = None, password: SecretStr | None = None) -> str:
        """libpq connection string; the owner's by default."""
        user = user or self.postgres_user
        password = password or self.postgres_password
        return (
            f"host={self.postgres_host} port={self.postgres_port} dbname={self.postgres_db} "
            f"user={user} password={password.get_secret_value()}"
        )


class KafkaSettings(_Base):
    """The Kafka broker and the CDC topic."""

    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers, as clients reach them.")
    kafka_port: int = Field(9092, description="Port the local broker listens on (`make up`).")
    kafka_controller_port: int = Field(9093, description="Port of the local broker's KRaft controller listener.")
    kafka_heap: str = Field("384m", description="Heap of the local broker JVM (records live in the page cache, not here): 188 MB of it was live after 700,000 change events at 1,000 tx/s (jcmd GC.heap_info after a full GC).")
    kafka_topic_prefix: str = Field("postgres", description="Debezium's topic.prefix: transaction changes go to the topic `<prefix>.public.transactions`.")
    kafka_topic_partitions: int = Field(3, description="Partitions of the transactions topic (the key is trans_num).")

    @property
    def kafka_topic(self) -> str:
        """The topic Debezium writes transaction changes to: it names it so itself, from the
        prefix (the connector gets it as ${env:KAFKA_TOPIC_PREFIX}) and the table."""
        return f"{self.kafka_topic_prefix}.{CDC_TABLE}"


class ConnectSettings(_Base):
    """Kafka Connect and the Debezium connector."""

    connect_url: str = Field("http://127.0.0.1:8083", description="Kafka Connect REST URL.")
    connect_port: int = Field(8083, description="Port the local Kafka Connect worker listens on (`make up`).")
    connect_heap: str = Field("256m", description="Heap of the local Kafka Connect JVM. Debezium's queue and the producer's buffer are its only sizeable users: after 700,000 change events at 1,000 tx/s, 33 MB of it was live (jcmd GC.heap_info after a full GC).")
    connector_name: str = Field("postgres-transactions", description="Name of the Debezium connector (file `fraudlake/resources/debezium/connectors/<name>.json`).")
    debezium_heartbeat_ms: int = Field(10000, description="Debezium heartbeat interval; keeps the replication slot advancing when the table is idle.")
    debezium_poll_interval_ms: int = Field(100, description="Longest a change event waits in Debezium's queue before the connector hands a batch to Kafka: a poll returns when max.batch.size (2,048) events are queued or after this long, so below that rate every event waited up to it (Debezium's default, 500 ms, was half a second of every commit → Kafka latency at 1,000 tx/s). Each poll is one Kafka transaction (exactly-once source), so it is not set near 0.")


class MinioSettings(_Base):
    """MinIO, the S3 store under the lakehouse."""

    minio_endpoint: str = Field("http://127.0.0.1:9000", description="S3 endpoint of MinIO, as clients reach it.")
    minio_port: int = Field(9000, description="Port of the local MinIO S3 API (`make up`).")
    minio_console_port: int = Field(9001, description="Port of the local MinIO web console.")
    minio_root_user: str = Field("fraudlake", description="MinIO access key.")
    minio_root_password: SecretStr = Field(description="MinIO secret key (at least 8 characters).")
    minio_region: str = Field("us-east-1", description="Region name S3 clients send to MinIO.")
    lakehouse_bucket: str = Field("lakehouse", description="Bucket holding Delta tables and checkpoints.")

    def lakehouse_uri(self, *parts: str) -> str:
        """`s3a://<bucket>/<parts…>`, e.g. lakehouse_uri("silver", "transactions")."""
        return "/".join([f"s3a://{self.lakehouse_bucket}", *parts])


class SparkSettings(_Base):
    """Spark sessions built by fraudlake.spark."""

    spark_master: str = Field("local[*]", description="Spark master URL: `local[*]` runs in-process; `spark://host:7077` for a cluster.")
    spark_driver_memory: str = Field("1536m", description="Heap of the lakehouse job's Spark driver and of every other session (notebooks, `fraudlake lakehouse`, retraining); with a local master the tasks run in it too. A JVM keeps the heap it once grew to. make bench on 2 cores, 1.3M-row backfill into silver / whole stack's memory: 1536m 288 s / 6.15 GiB; 2g 278 s / 6.45 GiB; 1g, measured before the JIT settings in fraudlake.spark, 304 s (more GC).")
    spark_jvm_options: str = Field("-XX:-UseCodeCacheFlushing -XX:ReservedCodeCacheSize=512m", description="Extra JVM options of Spark drivers and executors. Java 17's code-cache sweeper kept discarding code a micro-batch runs once a batch and the JIT compiling it again (make bench: 0.4 of a core, 4 min after start); without flushing the cache held 130 MB. If a job's log says `CodeCache is full`, raise ReservedCodeCacheSize.")
    spark_shuffle_partitions: int = Field(4, description="Partitions of a shuffle (spark.sql.shuffle.partitions) and of Delta's state reconstruction (spark.databricks.delta.snapshotPartitions): small, since micro-batches and these tables are small.")
    spark_driver_host: str | None = Field(None, description="Address executors reach the driver at, on a cluster (e.g. the job's compose service name); empty: Spark's default.")


class SparkClusterSettings(_Base):
    """The Spark standalone master and worker of docker-compose.yml (read by compose; the jobs reach the cluster through SPARK_MASTER)."""

    spark_master_port: int = Field(7077, description="Published port of the compose Spark master (spark://localhost:<port>).")
    spark_master_ui_port: int = Field(8080, description="Published port of the compose Spark master's web UI.")
    spark_worker_ui_ports: str = Field("8081-8089", description="Published port range of the compose Spark workers' web UIs (one per scaled worker).")
    spark_worker_cores: int = Field(2, description="Cores each compose Spark worker offers.")
    spark_worker_memory: str = Field("2g", description="Memory each compose Spark worker offers to executors.")
    spark_cores_per_job: int = Field(1, description="Cores one job takes from the cluster (spark.deploy.defaultCores), so both jobs run at once on one worker.")


class SupervisorSettings(_Base):
    """The local stack's supervisor: it restarts a component of `make up` that crashed."""

    stack_supervise: bool = Field(True, description="`make up` starts the supervisor, which restarts any component whose process died without `make down` (a crash, an OOM kill).")
    supervisor_components: str = Field("all", description="Comma-separated components the supervisor restarts (postgres,kafka,connect,minio,api,lakehouse,prediction,alerts,dashboard), or `all`.")
    supervisor_interval_seconds: float = Field(2.0, description="How often the supervisor looks at every component.")
    supervisor_grace_seconds: float = Field(3.0, description="A component is restarted only once it has been seen dead this long, so a stop in progress (which removes its pid file) is never mistaken for a crash.")
    supervisor_backoff_initial_seconds: float = Field(1.0, description="Wait before the second restart of a component that keeps crashing; each further restart waits twice as long.")
    supervisor_backoff_max_seconds: float = Field(120.0, description="Longest wait between restarts of a component that keeps crashing.")
    supervisor_stable_seconds: float = Field(60.0, description="A component that has run this long since its restart counts as recovered: its next crash is restarted without waiting.")

    def watches(self, name: str) -> bool:
        chosen = {part.strip() for part in self.supervisor_components.split(",") if part.strip()}
        return "all" in chosen or name in chosen


class StreamingSettings(_Base):
    """The two Spark Structured Streaming jobs: the lakehouse job and the prediction job."""

    streaming_starting_offsets: Literal["earliest", "latest"] = Field(
        "earliest",
        description="Where a job with no checkpoint starts reading the topic: `earliest` or `latest`. The lakehouse job resumes from the offsets already in bronze when it has any, so a cleared checkpoint never writes twice.",
    )
    lakehouse_trigger_seconds: float = Field(5.0, description="Trigger interval of the bronze query (Kafka → bronze); bronze latency is about this plus one batch. Each batch costs about a second of a core whatever its size, so on a small machine a longer interval leaves the CPU to the prediction job, whose latency alerts depend on.")
    lakehouse_max_offsets_per_trigger: int = Field(200000, description="Most Kafka records one bronze micro-batch reads (bounds a backfill's batch size). Bronze further behind the topic than this is catching up: silver's compaction and the gold refresh wait for it.")
    lakehouse_bronze_checkpoint_interval: int = Field(100, ge=1, description="Bronze's Delta checkpoint interval (delta.checkpointInterval, set on the table at the job's start): a checkpoint rewrites the table's state and holds up the next bronze batch by about 4 s, which at Delta's default (every 10th commit) was one batch in ten. Readers replay at most this many commits' JSON after the last checkpoint.")
    lakehouse_silver_compact_min_files: int = Field(20, ge=2, description="The silver MERGE that leaves this many small files (under 64 MB) rewrites them as files of up to 128 MB (Delta auto compaction, spark.databricks.delta.autoCompact.minNumFiles): every MERGE reads the key of every silver row, and each file costs it S3 requests and a footer. Each MERGE writes one file (optimized write), so at the 30 s silver trigger this is a compaction every ~10 minutes. Counted from the files the running job has written (small files from before a restart join the compaction): Delta's default rule compacted at the first MERGE after a restart, and again at every MERGE while the file it compacts into stayed under 64 MB. It waits while bronze is more than LAKEHOUSE_MAX_OFFSETS_PER_TRIGGER records behind the topic (a backfill), and one silver batch after.")
    silver_trigger_seconds: float = Field(30.0, description="Trigger interval of the silver query (bronze → silver MERGE). A MERGE reads the whole of silver whatever the batch's size, so fewer, larger batches cost far less CPU; silver is this many seconds behind bronze.")
    gold_refresh_seconds: float = Field(300.0, description="The silver query recomputes the gold tables from silver at most this often, and not while bronze is more than LAKEHOUSE_MAX_OFFSETS_PER_TRIGGER records behind the topic (a backfill) or in the silver batch after; 0: only `fraudlake lakehouse gold` does.")
    lakehouse_vacuum_retention_hours: int = Field(168, description="`fraudlake lakehouse optimize` vacuums files older than this many hours that no table version needs.")
    lakehouse_ui_port: int = Field(4040, description="Spark UI port of the lakehouse job (Spark tries the next ports when it is taken).")
    prediction_trigger_seconds: float = Field(
        0.25,
        description="Trigger interval of the prediction job. Short, for latency: a batch starts at most this long after a change reaches Kafka; 0 polls Kafka continuously and costs a core when idle.",
    )
    prediction_max_offsets_per_trigger: int = Field(20000, description="Most Kafka records one prediction micro-batch reads.")
    prediction_api_chunk_rows: int = Field(1000, description="Transactions per POST /predict/raw/batch call (at most API_BATCH_LIMIT).")
    prediction_api_parallelism: int = Field(2, description="Batch calls to the prediction API in flight at once.")
    prediction_api_timeout_seconds: float = Field(30.0, description="Timeout of one call to the prediction API.")
    prediction_retry_max_seconds: float = Field(10.0, description="Longest wait between retries while the prediction API or PostgreSQL is unavailable; the batch is retried until they are back, never skipped.")
    prediction_export_seconds: float = Field(10.0, description="How often the prediction job copies new `fraud_predictions` rows to the Delta table gold/fraud_predictions.")
    prediction_ui_port: int = Field(4041, description="Spark UI port of the prediction job.")
    prediction_driver_memory: str = Field("768m", description="Heap of the prediction job's Spark driver (SPARK_DRIVER_MEMORY is the lakehouse job's and every other session's). Its batches are collected to Python and scored there, so the JVM holds little: at 1,000 tx/s and 768m its old generation held 230 MB and a young GC (about one a second) took 12 ms (jstat -gc).")
    job_restart_seconds: float = Field(10.0, description="A job whose query fails (MinIO or Kafka unreachable) restarts it from its checkpoint after this many seconds.")


class AlertSettings(_Base):
    """Slack alerts for predicted fraud, sent from the `fraud_alerts` ledger."""

    slack_webhook_url: SecretStr | None = Field(None, description="Slack incoming-webhook URL (a secret; never logged). Empty: alerts are recorded as `disabled` and nothing is sent.")
    alert_min_level: RiskLevel = Field(RiskLevel.MEDIUM, description="Lowest risk level that alerts: LOW, MEDIUM or HIGH (every predicted fraud is MEDIUM or HIGH).")
    alert_digest_threshold: int = Field(10, description="When more alerts than this are pending, they are folded into digest messages instead of one message each (Slack takes about one message a second).")
    alert_digest_size: int = Field(20, description="Most alerts one digest message lists.")
    alert_max_attempts: int = Field(5, description="Sends tried for one alert before it is marked `failed` (429 waits honouring Retry-After are not counted).")
    alert_poll_seconds: float = Field(0.2, description="How often the alert sender looks for pending alerts when it has none.")
    slack_timeout_seconds: int = Field(10, description="Timeout of one request to the Slack webhook.")


class ModelSettings(_Base):
    """The fraud model the API and the jobs score with."""

    model_dir: Path | None = Field(
        None,
        description="Directory holding model.json and metadata.json written by `fraudlake train`; empty: the model promoted in MODEL_REGISTRY_DIR, else the default model shipped in fraudlake (src/fraudlake/model/default).",
    )
    model_registry_dir: Path | None = Field(None, description="Where `fraudlake model retrain` keeps every candidate, the `current` pointer to the promoted one and its predecessor (for `fraudlake model rollback`); empty: FRAUDLAKE_RUN_DIR/models.")
    retrain_delta_uri: str | None = Field(None, description="Delta table `fraudlake model retrain` trains from; empty: silver (s3a://LAKEHOUSE_BUCKET/silver/transactions).")
    retrain_validation_fraction: float = Field(0.2, gt=0, lt=1, description="Share of the rows, the latest in time, on which the candidate and the serving model are compared (and the candidate's threshold is chosen).")
    retrain_rounds: int = Field(150, gt=0, description="Boosting rounds of a retrained candidate.")
    retrain_promotion_margin: float = Field(0.005, description="A candidate is promoted only if its PR-AUC on the latest period beats the serving model's by at least this much.")


_API_BYTES_PER_ROW = 2048


class QualitySettings(_Base):
    """The data-quality checks (`fraudlake quality check`, the Airflow DAG `fraudlake_quality`)."""

    quality_lookback_hours: float = Field(24.0, gt=0, description="Transactions committed within this many hours are checked (silver counts, values, predictions).")
    quality_grace_seconds: float = Field(120.0, ge=0, description="A transaction committed longer ago than this must be in silver and have a prediction.")
    quality_sample_rows: int = Field(200, ge=0, description="Transactions whose 22 values are compared between PostgreSQL and silver.")
    quality_max_lag_records: int = Field(50000, ge=0, description="Most Kafka records a streaming job's query may be behind the topic's end.")
    quality_max_progress_age_seconds: float = Field(180.0, gt=0, description="A streaming job whose progress row is older than this counts as not running.")
    quality_max_slot_wal_mb: float = Field(2048.0, gt=0, description="Most WAL, in MiB, the Debezium replication slot may hold back (it grows while Debezium is down).")


class AirflowSettings(_Base):
    """Airflow (`make airflow`): scheduler and web server in a virtualenv of their own."""

    airflow_port: int = Field(8080, description="Port of the Airflow web server (http://127.0.0.1:8080).")
    airflow_admin_user: str = Field("admin", description="Airflow web UI login.")
    airflow_admin_password: SecretStr = Field(description="Password of AIRFLOW_ADMIN_USER.")
    airflow_dags_dir: Path = Field(Path("airflow/dags"), description="The DAG files Airflow loads; relative paths are from the directory `scripts/airflow.sh` runs in (the checkout).")


class ApiSettings(_Base):
    """The prediction API (services/prediction-api)."""

    api_host: str = Field("127.0.0.1", description="Address the prediction API listens on (`fraudlake serve-api`).")
    api_port: int = Field(8000, description="Port the prediction API listens on.")
    api_url: str = Field("http://127.0.0.1:8000", description="Prediction API base URL, as its clients (the prediction job) reach it.")
    api_batch_limit: int = Field(5000, description="Most transactions one POST /predict/raw/batch may carry; more is answered 413.")
    api_max_body_bytes: int | None = Field(None, gt=0, description="Longest request body the API reads, in bytes; a longer one is answered 413 before it is decoded. Empty: 2 KiB per transaction of API_BATCH_LIMIT (a full Kaggle row is about 500 bytes of JSON).")
    api_history_lookup: bool = Field(True, description="Read each card's recent history from PostgreSQL `transactions` for the per-card features; false scores every request on its own rows only.")
    api_db_pool_size: int = Field(4, description="Most PostgreSQL connections the API keeps for history lookups.")
    api_token: SecretStr = Field(description="Bearer token the API requires in `Authorization: Bearer …` on everything but /health and /metrics; every client fraudlake ships sends it.")

    def auth_headers(self) -> dict[str, str]:
        """What a client sends to be let in."""
        return {"authorization": f"Bearer {self.api_token.get_secret_value()}"}

    @property
    def max_body_bytes(self) -> int:
        return self.api_max_body_bytes or self.api_batch_limit * _API_BYTES_PER_ROW


class ProducerSettings(_Base):
    """The data producer (`fraudlake producer`, services/data-producer)."""

    producer_copy_batch_rows: int = Field(50000, description="Rows `producer load` copies and commits at a time; a killed load loses at most the chunk in flight, and a rerun skips what was committed.")
    producer_load_connections: int = Field(2, description="Connections `producer load` writes chunks through at once; index upkeep in PostgreSQL, not parsing, limits a bulk load.")
    producer_stream_tps: float = Field(10.0, description="Default rate of `producer stream`, in transactions per second.")
    producer_stream_commits_per_second: int = Field(20, description="How many small transactions a second `producer stream` spreads its rate over (each holds the rows due by then).")
    producer_stream_reconnect_seconds: float = Field(300.0, description="How long `producer stream` keeps trying to reconnect to a PostgreSQL that went away (restart, crash) before it gives up; the rows of a commit whose outcome was lost are not sent twice.")
    producer_max_text_chars: int = Field(1000, gt=0, le=16000, description="Longest text field (merchant, names, street, city, job …) `producer load` and `producer stream` accept; a longer row is quarantined. Kafka refuses a message over 1 MiB, so a row whose change event would be larger must never reach `transactions`: at most 16000 (9 text columns × 6 bytes a JSON-escaped character stays below it).")
    producer_generate_seed: int = Field(0, description="Default seed of `producer generate` and `producer stream --generate`; the same seed gives the same transactions.")


class DashboardSettings(_Base):
    """The Streamlit dashboard (fraudlake.dashboard): fraud, alerts, pipeline health and producer controls."""

    dashboard_host: str = Field("127.0.0.1", description="Address the dashboard listens on.")
    dashboard_port: int = Field(8501, description="Port the dashboard listens on (http://127.0.0.1:8501).")
    dashboard_refresh_seconds: float = Field(5.0, description="How often the page re-reads its figures (without reloading the page).")
    dashboard_window_hours: int = Field(24, description="Fraud KPIs (frauds by level, fraud rate, amount at risk) and the fraud charts cover the last this many hours.")
    dashboard_sample_rows: int = Field(10000, description="The latency histogram and the legitimate side of the amount chart are drawn from this many latest predictions, so a refresh costs the same however large the table grows.")
    dashboard_alert_rows: int = Field(50, description="Latest alerts shown in the live table.")
    dashboard_csv_dir: Path = Field(Path("data"), description="Directory whose Kaggle-format CSV files the producer controls offer to stream or load.")


@lru_cache
def get_path_settings() -> PathSettings:
    return PathSettings()


@lru_cache
def get_supervisor_settings() -> SupervisorSettings:
    return SupervisorSettings()


@lru_cache
def get_postgres_settings() -> PostgresSettings:
    return PostgresSettings()


@lru_cache
def get_kafka_settings() -> KafkaSettings:
    return KafkaSettings()


@lru_cache
def get_connect_settings() -> ConnectSettings:
    return ConnectSettings()


@lru_cache
def get_minio_settings() -> MinioSettings:
    return MinioSettings()


@lru_cache
def get_spark_settings() -> SparkSettings:
    return SparkSettings()


@lru_cache
def get_spark_cluster_settings() -> SparkClusterSettings:
    return SparkClusterSettings()


@lru_cache
def get_streaming_settings() -> StreamingSettings:
    return StreamingSettings()


@lru_cache
def get_alert_settings() -> AlertSettings:
    return AlertSettings()


@lru_cache
def get_model_settings() -> ModelSettings:
    return ModelSettings()


@lru_cache
def get_quality_settings() -> QualitySettings:
    return QualitySettings()


@lru_cache
def get_airflow_settings() -> AirflowSettings:
    return AirflowSettings()


@lru_cache
def get_api_settings() -> ApiSettings:
    return ApiSettings()


@lru_cache
def get_producer_settings() -> ProducerSettings:
    return ProducerSettings()


@lru_cache
def get_dashboard_settings() -> DashboardSettings:
    return DashboardSettings()


ALL_SETTINGS: tuple[type[BaseSettings], ...] = (
    PathSettings,
    SupervisorSettings,
    PostgresSettings,
    KafkaSettings,
    ConnectSettings,
    MinioSettings,
    SparkSettings,
    SparkClusterSettings,
    StreamingSettings,
    AlertSettings,
    ModelSettings,
    ApiSettings,
    ProducerSettings,
    DashboardSettings,
    QualitySettings,
    AirflowSettings,
)


def apply_environment(values: dict[str, str | None]) -> None:
    """Set (or, for None, remove) environment variables and read settings afresh: how a
    test or a benchmark changes a setting for the processes it starts next."""
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    reset_settings()


def reset_settings() -> None:
    """Forget cached settings so the next getter call re-reads the environment."""
    for name, value in list(globals().items()):
        if name.startswith("get_") and hasattr(value, "cache_clear"):
            value.cache_clear()
