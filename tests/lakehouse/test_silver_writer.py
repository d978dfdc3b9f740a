"""The silver query's foreachBatch on a local Delta table: upkeep waits for bronze."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaException
from delta.tables import DeltaTable

from fraudlake.lakehouse.job import AUTO_COMPACT_ENABLED, SilverWriter, job_conf
from fraudlake.lakehouse.tables import SILVER_PROPERTIES, silver_schema
from fraudlake.stack.kafka import TopicUnavailable
from tests.lakehouse.test_transforms import bronze_batch, event

pytestmark = pytest.mark.spark


@pytest.fixture
def session_conf_restored(spark):
    """The writer sets the job's settings on the session; other tests get theirs back."""
    keys = [*job_conf(2), AUTO_COMPACT_ENABLED]
    saved = {key: spark.conf.get(key, None) for key in keys}
    yield
    for key, value in saved.items():
        if value is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, value)


def operations(spark, path: str) -> list[str]:
    return [row.operation for row in DeltaTable.forPath(spark, path).history().orderBy("version").collect()]


def create_silver(spark, path: str) -> None:
    builder = DeltaTable.createIfNotExists(spark).location(path).addColumns(silver_schema(spark))
    for key, value in SILVER_PROPERTIES.items():
        builder = builder.property(key, value)
    builder.execute()


def test_compaction_waits_while_bronze_catches_up_and_one_batch_more(spark, tmp_path, session_conf_restored):
    path = str(tmp_path / "silver")
    create_silver(spark, path)
    behind = {"records": 10_000}
    writer = SilverWriter(spark, job_conf(compact_min_files=2), gold_refresh_seconds=0,
                          records_behind=lambda: behind["records"], backlog=1_000, path=path)

    for batch in range(3):  # three small files: past the threshold of two, but bronze is behind
        writer(bronze_batch(spark, [event("c", f"t{batch}", 10 + batch)]), batch)
    assert operations(spark, path).count("MERGE") == 3 and "OPTIMIZE" not in operations(spark, path)

    behind["records"] = 1_000  # within one batch of the topic's end: caught up
    # The first batch after it merges only: bronze's last catch-up batch is still landing.
    writer(bronze_batch(spark, [event("c", "t3", 13)]), 3)
    assert operations(spark, path)[-2:] == ["MERGE", "MERGE"]
    assert spark.conf.get(AUTO_COMPACT_ENABLED) == "false"
    writer(bronze_batch(spark, [event("c", "t4", 14)]), 4)
    assert operations(spark, path)[-2:] == ["MERGE", "OPTIMIZE"]
    assert spark.conf.get(AUTO_COMPACT_ENABLED, None) is None
    silver = spark.read.format("delta").load(path)
    assert sorted(r.trans_num for r in silver.collect()) == ["t0", "t1", "t2", "t3", "t4"]
    assert len(silver.inputFiles()) == 1


def test_small_files_from_before_do_not_make_every_merge_compact(spark, tmp_path, session_conf_restored):
    """Silver already holds small files this driver did not write (a restarted job):
    compaction still waits for the threshold. Delta's default rule compacts a table's
    small files at the first MERGE after a restart, and again after every MERGE for as
    long as the file it compacts into stays under 64 MB (measured: a 300-row MERGE, then
    an OPTIMIZE of 32 MB, every 30 s)."""
    path = str(tmp_path / "silver")
    create_silver(spark, path)
    behind = {"records": 10_000}
    writer = SilverWriter(spark, job_conf(compact_min_files=4), gold_refresh_seconds=0,
                          records_behind=lambda: behind["records"], backlog=1_000, path=path)
    writer(bronze_batch(spark, [event("c", "t0", 10)]), 0)  # a small file, written while behind
    behind["records"] = 0

    for batch in (1, 2):  # two and three small files: under the threshold of four
        writer(bronze_batch(spark, [event("c", f"t{batch}", 10 + batch)]), batch)
    assert "OPTIMIZE" not in operations(spark, path)

    writer(bronze_batch(spark, [event("c", "t3", 13)]), 3)  # the fourth
    assert operations(spark, path)[-2:] == ["MERGE", "OPTIMIZE"]
    assert len(spark.read.format("delta").load(path).inputFiles()) == 1


@pytest.mark.parametrize("error", [TopicUnavailable("Kafka is not reachable (KAFKA_BOOTSTRAP_SERVERS)"),
                                   KafkaException("watermark offsets timed out")])
def test_upkeep_does_not_wait_when_kafka_cannot_say_how_far_bronze_is(spark, tmp_path, error):
    def unreachable() -> int:
        raise error

    writer = SilverWriter(spark, {}, gold_refresh_seconds=0, records_behind=unreachable, backlog=0,
                          path=str(tmp_path / "silver"))
    assert writer.catching_up() is False
