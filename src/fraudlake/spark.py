"""The one SparkSession factory: Delta Lake, S3A on MinIO and the Kafka source.

Jars come from the Maven cache (`fraudlake fetch`), never from `spark.jars.packages`, so
sessions start offline and always get the pinned set.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pyspark
from pyspark.sql import SparkSession

from fraudlake import settings as cfg
from fraudlake.stack.artifacts import spark_jars


def lakehouse_uri(*parts: str) -> str:
    """`s3a://<bucket>/<parts…>`, e.g. lakehouse_uri("bronze", "transactions")."""
    return cfg.get_minio_settings().lakehouse_uri(*parts)


# Spark's own jars, as the JVM's class path spells a folder's jars.
PYSPARK_JARS = str(Path(pyspark.__file__).parent / "jars" / "*")


def jar_conf(master: str, jars: list[Path]) -> dict[str, str]:
    """How a session gets the connector jars.

    A local master runs everything in the driver's JVM, so the jars go on its class path
    as it starts. Through `spark.jars` every session copied them (550 MB, most of it the
    AWS SDK bundle) into a temporary folder, twice, and a driver killed -9 left the copies
    behind: 57 GB of /tmp in a day of test runs, and a CI run failed on a full disk. Spark's
    own jars come first because the AWS bundle carries slf4j 1.7's API, which, found
    first, turns every Spark log line into nothing. A cluster's executors need the jars
    shipped to them, which is what `spark.jars` does."""
    if master.startswith("local"):
        return {"spark.driver.extraClassPath": os.pathsep.join([PYSPARK_JARS, *map(str, jars)])}
    return {"spark.jars": ",".join(map(str, jars))}


def spark_conf() -> dict[str, str]:
    """Every configuration the factory sets; separate so it can be inspected and tested."""
    spark = cfg.get_spark_settings()
    minio = cfg.get_minio_settings()
    conf = jar_conf(spark.spark_master, spark_jars(cfg.get_path_settings())) | {
        "spark.driver.memory": spark.spark_driver_memory,
        "spark.sql.shuffle.partitions": str(spark.spark_shuffle_partitions),
        # Delta rebuilds a table's state (for each checkpoint, every 10th commit) in 50
        # partitions by default, sized for tables of millions of files: 53 tasks of
        # nothing each on two cores, seconds that every 10th bronze batch waited for.
        "spark.databricks.delta.snapshotPartitions": str(spark.spark_shuffle_partitions),
        # SPARK_JVM_OPTIONS turns off Java 17's code-cache flushing: the sweeper threw away
        # compiled code a streaming driver uses only once a batch, and the JIT compiled it
        # again. Measured on the lakehouse job at 1,000 tx/s, 4 minutes after its start:
        # 400 compilations a second and 0.4 of a core; with flushing off, 30 and 0.12.
        "spark.driver.extraJavaOptions": spark.spark_jvm_options,
        "spark.executor.extraJavaOptions": spark.spark_jvm_options,
        # Spark keeps the classes it generates in a cache of 100 by default, keyed by code
        # and class loader (a query's thread and its tasks each compile a class), and the
        # limit is Guava's, applied per segment (4 segments of ~25). Too small for the
        # lakehouse job: every silver MERGE compiled the same ~40 classes again (1.8 MB of
        # Java source every 30 s, then the JIT compiling them anew while they ran
        # interpreted): 177 compilations of 45 distinct classes in 100 s at 1,000 tx/s.
        # With room for 1,000: 8, each the MERGE's current_timestamp() (silver_values).
        "spark.sql.codegen.cache.maxEntries": "1000",
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.showConsoleProgress": "false",
        # The UI keeps 1,000 jobs, stages and SQL executions with their plans by default:
        # a streaming job makes several a second, and holding them all grows the heap and
        # the GC's work for a history nobody reads. The last few minutes' worth stay.
        "spark.ui.retainedJobs": "200",
        "spark.ui.retainedStages": "200",
        "spark.ui.retainedTasks": "10000",
        "spark.sql.ui.retainedExecutions": "100",
        "spark.sql.streaming.ui.retainedQueries": "20",
        # Queries of one job share the driver's cores by pool (fraudlake.lakehouse.job).
        "spark.scheduler.mode": "FAIR",
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        # Delta on S3 allows a single writer per table; the default S3SingleDriverLogStore
        # is what guarantees that within one driver.
        "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.s3a.endpoint": minio.minio_endpoint,
        "spark.hadoop.fs.s3a.endpoint.region": minio.minio_region,
        "spark.hadoop.fs.s3a.access.key": minio.minio_root_user,
        "spark.hadoop.fs.s3a.secret.key": minio.minio_root_password.get_secret_value(),
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": str(minio.minio_endpoint.startswith("https")).lower(),
        "spark.hadoop.fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        # MinIO answers quickly or not at all; fail fast instead of S3A's long AWS retries.
        "spark.hadoop.fs.s3a.attempts.maximum": "3",
        "spark.hadoop.fs.s3a.retry.limit": "3",
        "spark.hadoop.fs.s3a.connection.timeout": "10000",
        "spark.hadoop.fs.s3a.connection.establish.timeout": "15000",
    }
    if spark.spark_driver_host:
        conf["spark.driver.host"] = spark.spark_driver_host
    return conf


def build_spark_session(app_name: str, extra_conf: dict[str, str] | None = None) -> SparkSession:
    # pandas-on-Spark (used by pyspark.testing and toPandas) requires this with pyarrow ≥ 2.
    os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
    # Python workers (a notebook's UDF, say) run this interpreter, which has fraudlake
    # and pyspark's dependencies, not whatever `python3` is first on the PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name).master(cfg.get_spark_settings().spark_master)
    for key, value in (spark_conf() | (extra_conf or {})).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    return session
