"""The lakehouse's transforms on small DataFrames: bronze, quarantine, the offset
filter, the silver MERGE rules and the gold aggregates."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from delta.tables import DeltaTable
from pyspark.sql import Observation
from pyspark.testing import assertDataFrameEqual

from fraudlake.lakehouse import transforms as T
from fraudlake.lakehouse.job import merge_changes
from fraudlake.lakehouse.tables import KAFKA_RECORD_SCHEMA, silver_schema
from fraudlake.streaming.cdc import decode_cdc
from tests.test_cdc import AFTER

pytestmark = pytest.mark.spark


def event(op: str, trans_num: str, lsn: int, **changes) -> bytes:
    image = {**AFTER, "trans_num": trans_num, **changes}
    before, after = (image, None) if op == "d" else (None, image)
    return json.dumps({"op": op, "before": before, "after": after,
                       "source": {"lsn": lsn, "ts_ms": 1_700_000_000_000 + lsn, "txId": lsn // 10}}).encode()


def kafka_batch(spark, values: list[bytes | None], partition: int = 0, first_offset: int = 0):
    rows = [(None, value, "t", partition, first_offset + i, datetime(2026, 11, 25), 0) for i, value in enumerate(values)]
    return spark.createDataFrame(rows, KAFKA_RECORD_SCHEMA)


INGESTED_AT = datetime(2026, 11, 25, 12, 0, 1, tzinfo=timezone.utc)


def bronze_batch(spark, values, **kwargs):
    return T.bronze_rows(decode_cdc(kafka_batch(spark, values, **kwargs)), INGESTED_AT)


def test_bronze_keeps_every_good_event_and_quarantine_the_others(spark):
    decoded = decode_cdc(kafka_batch(spark, [event("c", "a", 10), b"{oops", None, event("d", "a", 20)]))
    bronze = T.bronze_rows(decoded, INGESTED_AT)
    assert bronze.columns == list(T.BRONZE_COLUMNS)
    rows = bronze.orderBy("kafka_offset").collect()
    assert [(r.op, r.trans_num, r.lsn, r.kafka_offset, r.tx_id) for r in rows] == [("c", "a", 10, 0, 1), ("d", "a", 20, 3, 2)]
    assert rows[0].event_date == date(2023, 11, 14)  # the source commit's day (ts_ms 1.7e12)
    assert rows[0].amt == Decimal("4.97") and rows[1].amt is not None  # the delete keeps its before image
    assert {r.ingested_at.astimezone(timezone.utc) for r in rows} == {INGESTED_AT}

    (bad,) = T.quarantine_rows(decoded, INGESTED_AT).collect()
    assert (bad.raw_value, bad.kafka_offset, bad.reason) == ("{oops", 1, "not JSON")
    assert bad.quarantined_at.astimezone(timezone.utc) == INGESTED_AT


def test_a_batch_observed_while_bronze_is_written_gives_its_counts_and_last_offsets(spark):
    batch = kafka_batch(spark, [event("c", "a", 10), b"{oops", None], partition=1, first_offset=40).union(
        kafka_batch(spark, [event("c", "b", 11), event("u", "b", 12)], partition=2, first_offset=7))
    seen = Observation("marks")
    decoded = decode_cdc(batch).observe(seen, *T.batch_marks([0, 1]))
    assert T.bronze_rows(decoded, INGESTED_AT).count() == 3
    assert seen.get == {"events": 4, "quarantined": 1, "other_partitions": 2, "last_0": None, "last_1": 41}
    # The observation is where Spark stops pushing bronze's filter down: below it, the
    # filter on `error` would be inlined into copies of the JSON parse (see decode_cdc).
    one_partition = kafka_batch(spark, [event("c", "a", 10), b"{oops"])
    plan = T.bronze_rows(decode_cdc(one_partition).observe(Observation("plan"), *T.batch_marks([0])), INGESTED_AT)
    assert plan._jdf.queryExecution().optimizedPlan().toString().count("from_json") == 1


def test_after_offsets_drops_what_a_table_already_holds(spark):
    batch = kafka_batch(spark, [event("c", f"k{i}", i) for i in range(5)], partition=1, first_offset=10)
    kept = T.after_offsets(decode_cdc(batch), {1: 12, 0: 99})
    assert [r.kafka_offset for r in kept.orderBy("kafka_offset").collect()] == [13, 14]
    assert T.after_offsets(batch, {}).count() == 5
    assert T.after_offsets(decode_cdc(batch), {0: 99}).count() == 5  # nothing written yet from partition 1


def test_a_new_batch_time_and_new_offsets_compile_no_new_code(spark):
    """Bronze writes every few seconds with a new time and new offsets; both are data to
    the generated code, so only the first batch compiles (see transforms.with_time)."""
    compilations = spark.sparkContext._jvm.org.apache.spark.metrics.source.CodegenMetrics.METRIC_COMPILATION_TIME()
    records = kafka_batch(spark, [event("c", f"k{i}", i) for i in range(5)])

    def write(n: int) -> int:  # as the bronze writer does: observed, filtered, offsets as data
        before = compilations.getCount()
        decoded = decode_cdc(records).observe(Observation(f"batch_{n}"), *T.batch_marks([0, 1]))
        rows = T.after_offsets(T.bronze_rows(decoded, INGESTED_AT + timedelta(seconds=5 * n)), {0: n})
        rows.write.format("noop").mode("overwrite").save()
        return compilations.getCount() - before

    write(0)
    assert [write(n) for n in (1, 2, 3)] == [0, 0, 0]


def test_the_newest_change_per_key_is_the_highest_lsn_then_the_later_record(spark):
    changes = bronze_batch(spark, [event("u", "a", 30, amt="3.00"), event("u", "a", 20, amt="2.00"),
                                   event("c", "b", 5), event("u", "b", 5, amt="9.99")])
    latest = {r.trans_num: r.amt for r in T.latest_change_per_key(changes).collect()}
    assert latest == {"a": Decimal("3.00"), "b": Decimal("9.99")}


@pytest.fixture
def silver(spark, tmp_path):
    return DeltaTable.createIfNotExists(spark).location(str(tmp_path / "silver")).addColumns(silver_schema(spark)).execute()


def silver_state(silver) -> dict[str, tuple]:
    # Read afresh: DeltaTable.toDF() can answer from a snapshot older than the last MERGE.
    location = silver.detail().first().location
    return {r.trans_num: (r.lsn, r.amt) for r in silver.toDF().sparkSession.read.format("delta").load(location).collect()}


def test_silver_merge_keeps_the_highest_lsn_and_ignores_older_or_equal(spark, silver):
    merge_changes(silver, bronze_batch(spark, [event("c", "a", 10, amt="1.00"), event("c", "b", 11)]))
    merge_changes(silver, bronze_batch(spark, [event("u", "a", 30, amt="3.00")]))
    merge_changes(silver, bronze_batch(spark, [event("u", "a", 20, amt="2.00")]))  # out of order: older
    assert silver_state(silver)["a"] == (30, Decimal("3.00"))

    version = silver.history(1).first().version
    merge_changes(silver, bronze_batch(spark, [event("u", "a", 30, amt="3.00")]))  # the same event again
    assert silver_state(silver) == {"a": (30, Decimal("3.00")), "b": (11, Decimal("4.97"))}
    replay = silver.history(1).first()
    assert replay.version == version + 1
    assert int(replay.operationMetrics["numTargetRowsUpdated"]) == 0
    assert int(replay.operationMetrics["numTargetRowsInserted"]) == 0


def test_silver_merge_deletes_and_a_reinsert_brings_the_row_back(spark, silver):
    merge_changes(silver, bronze_batch(spark, [event("c", "a", 10), event("c", "b", 11)]))
    merge_changes(silver, bronze_batch(spark, [event("d", "a", 5)]))  # older than the row: ignored
    assert set(silver_state(silver)) == {"a", "b"}
    merge_changes(silver, bronze_batch(spark, [event("d", "a", 40)]))
    assert set(silver_state(silver)) == {"b"}
    merge_changes(silver, bronze_batch(spark, [event("c", "a", 50, amt="7.00")]))
    assert silver_state(silver)["a"] == (50, Decimal("7.00"))
    # Insert and delete of one key in one batch: the delete is newest, nothing lands.
    merge_changes(silver, bronze_batch(spark, [event("c", "c", 60), event("d", "c", 61)]))
    assert "c" not in silver_state(silver)


def test_gold_aggregates_on_a_known_silver(spark):
    def row(trans_num, when, category, amt, is_fraud, cc_num=1):
        return (trans_num, datetime.fromisoformat(when), category, Decimal(amt), is_fraud, cc_num, "m-" + trans_num)

    silver = spark.createDataFrame([
        row("a", "2019-01-01 01:10:00", "grocery", "10.00", 0),
        row("b", "2019-01-01 01:50:00", "grocery", "90.00", 1),
        row("c", "2019-01-01 13:00:00", "travel", "5.50", 0, cc_num=2),
        row("d", "2019-01-02 01:00:00", "grocery", "4.00", 0),
    ], "trans_num string, trans_date_trans_time timestamp_ntz, category string, amt decimal(12,2), "
       "is_fraud smallint, cc_num bigint, merchant string").select(*T.GOLD_INPUT_COLUMNS)  # all the refresh reads

    by_day = T.fraud_by_day_category(silver).select("day", "category", "transactions", "amount", "frauds", "fraud_rate")
    assertDataFrameEqual(by_day, spark.createDataFrame([
        (date(2019, 1, 1), "grocery", 2, Decimal("100.00"), 1, 0.5),
        (date(2019, 1, 1), "travel", 1, Decimal("5.50"), 0, 0.0),
        (date(2019, 1, 2), "grocery", 1, Decimal("4.00"), 0, 0.0),
    ], by_day.schema))

    by_hour = {r.hour: (r.transactions, r.frauds, r.fraud_amount) for r in T.fraud_by_hour(silver).collect()}
    assert by_hour == {1: (3, 1, Decimal("90.00")), 13: (1, 0, Decimal("0.00"))}

    cards = {(r.cc_num, r.day): (r.transactions, r.max_amount, r.merchants, r.frauds)
             for r in T.card_daily(silver).collect()}
    assert cards == {(1, date(2019, 1, 1)): (2, Decimal("90.00"), 2, 1), (2, date(2019, 1, 1)): (1, Decimal("5.50"), 1, 0),
                     (1, date(2019, 1, 2)): (1, Decimal("4.00"), 1, 0)}
