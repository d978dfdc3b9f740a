"""The session factory's class path: the connectors load, Spark still logs, and a local
session copies no jars (a killed driver's copies once filled CI's disk)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark import SparkFiles

pytestmark = pytest.mark.spark

CONNECTOR_CLASSES = ["io.delta.sql.DeltaSparkSessionExtension", "org.apache.hadoop.fs.s3a.S3AFileSystem",
                     "org.apache.spark.sql.kafka010.KafkaSourceProvider"]


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def test_a_local_session_loads_the_connectors_without_copying_them(spark):
    jvm = spark.sparkContext._jvm
    for name in CONNECTOR_CLASSES:
        assert jvm.org.apache.spark.util.Utils.classForName(name, False, False).getName() == name
    spark.range(3).write.format("delta").mode("overwrite").save(str(Path(SparkFiles.getRootDirectory()) / "t"))

    # SparkFiles' root is in the session's temporary folder, where spark.jars put its copies.
    temporary = Path(SparkFiles.getRootDirectory()).parent
    assert folder_bytes(temporary) < 20 * 2**20, f"{temporary} holds {folder_bytes(temporary):,} bytes"


def test_spark_logs_through_log4j_not_the_aws_bundles_slf4j(spark):
    # The AWS SDK bundle carries slf4j 1.7's API; ahead of Spark's on the class path it
    # would bind to nothing and every Spark log line would vanish.
    factory = spark.sparkContext._jvm.org.slf4j.LoggerFactory.getILoggerFactory()
    assert factory.getClass().getName() == "org.apache.logging.slf4j.Log4jLoggerFactory"
