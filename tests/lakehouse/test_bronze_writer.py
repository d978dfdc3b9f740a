"""The bronze query's foreachBatch on local Delta tables: each Kafka record once, in
bronze or the quarantine, through replays, a crash between the two appends and a
cleared checkpoint."""

from __future__ import annotations

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from fraudlake.lakehouse.job import BronzeWriter
from fraudlake.lakehouse.tables import BRONZE, QUARANTINE, ensure_tables, uri
from tests.lakehouse.test_transforms import event, kafka_batch

pytestmark = pytest.mark.spark


@pytest.fixture
def root(spark, tmp_path) -> str:
    ensure_tables(spark, str(tmp_path))
    return str(tmp_path)


def offsets(spark, root: str, table: tuple[str, ...]) -> list[int]:
    return sorted(r.kafka_offset for r in spark.read.format("delta").load(uri(table, root)).collect())


def version(spark, root: str, table: tuple[str, ...]) -> int:
    return DeltaTable.forPath(spark, uri(table, root)).history(1).first().version


def records(spark, first_offset: int):
    """Offsets first_offset … +3 of partition 0: two good events around a bad one, and a tombstone."""
    return kafka_batch(spark, [event("c", f"k{first_offset}", 10), b"not json", event("u", f"k{first_offset}", 11), None],
                       partition=0, first_offset=first_offset)


def test_a_replayed_batch_writes_nothing_and_commits_nothing(spark, root):
    writer = BronzeWriter(spark, partitions=[0], root=root)
    writer(records(spark, 0), 0)
    assert offsets(spark, root, BRONZE) == [0, 2] and offsets(spark, root, QUARANTINE) == [1]
    assert writer.written == {BRONZE: {0: 2}, QUARANTINE: {0: 2}} and writer.complete == {0: 2}
    versions = version(spark, root, BRONZE), version(spark, root, QUARANTINE)

    writer(records(spark, 0), 0)  # the same batch again, as after a crash before Spark's commit
    BronzeWriter(spark, partitions=[0], root=root)(records(spark, 0), 0)  # and by a restarted job
    assert offsets(spark, root, BRONZE) == [0, 2] and offsets(spark, root, QUARANTINE) == [1]
    assert (version(spark, root, BRONZE), version(spark, root, QUARANTINE)) == versions


def test_a_crash_between_bronze_and_the_quarantine_then_a_cleared_checkpoint_loses_no_bad_record(
        spark, root, monkeypatch):
    writer = BronzeWriter(spark, partitions=[0], root=root)
    writer(records(spark, 0), 0)

    def crash(*args):
        raise RuntimeError("killed between the appends")

    monkeypatch.setattr(BronzeWriter, "_quarantine", crash)
    with pytest.raises(RuntimeError):
        writer(records(spark, 4), 1)  # bronze holds offsets 4 and 6; the quarantine lacks 5
    monkeypatch.undo()
    assert offsets(spark, root, BRONZE) == [0, 2, 4, 6] and offsets(spark, root, QUARANTINE) == [1]

    # Restarted with no checkpoint: it resumes after what both tables held when
    # bronze's last write began, not after bronze's own offsets.
    restarted = BronzeWriter(spark, partitions=[0], root=root)
    assert restarted.complete == {0: 2} and restarted.written[BRONZE] == {0: 6}
    resume = restarted.complete[0] + 1
    restarted(records(spark, 4).where(F.col("offset") >= resume), 0)
    assert offsets(spark, root, BRONZE) == [0, 2, 4, 6] and offsets(spark, root, QUARANTINE) == [1, 5]
    assert restarted.complete == {0: 6}


def test_records_of_a_partition_the_topic_grew_are_still_written_once(spark, root):
    writer = BronzeWriter(spark, partitions=[0], root=root)
    batch = records(spark, 0).union(kafka_batch(spark, [event("c", "p1", 10)], partition=1, first_offset=30))
    writer(batch, 0)
    assert writer.written[BRONZE] == {0: 2, 1: 30} and writer.complete == {0: 2, 1: 30}
    writer(batch, 0)
    assert offsets(spark, root, BRONZE) == [0, 2, 30]
