"""The lakehouse job as `make up` runs it, against the real stack: PostgreSQL →
Debezium → Kafka → Spark → bronze, quarantine and silver Delta tables on MinIO.
Read back without a JVM (fraudlake.lakehouse.reader)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from decimal import Decimal

import pytest
from confluent_kafka import Producer

from fraudlake import settings as cfg
from fraudlake.lakehouse.gold import optimize, refresh_gold
from fraudlake.lakehouse.reader import delta_table, query
from fraudlake.lakehouse.tables import CHECKPOINT_INTERVAL, SILVER_PROPERTIES, ensure_tables, uri
from fraudlake.schema import COLUMN_NAMES
from fraudlake.streaming.checkpoints import checkpoint_exists, clear_checkpoints
from tests.conftest import REPO_ROOT
from tests.producer.helpers import FRAUDLAKE
from tests.stack.test_cdc_path import a_transaction, insert
from tests.streaming.helpers import crash_mid_stream, job, wait_for

pytestmark = [pytest.mark.stack, pytest.mark.spark]

BRONZE = ("bronze", "transactions")
SILVER = ("silver", "transactions")
QUARANTINE = ("bronze", "transactions_quarantine")
SILVER_COLUMNS = (*COLUMN_NAMES, "created_at")


@pytest.fixture(scope="module")
def lakehouse(full_stack):
    component = job("lakehouse")
    component.start()
    yield component
    component.stop()


def bronze_checkpoint_interval() -> str | None:
    return delta_table(*BRONZE).metadata().configuration.get(CHECKPOINT_INTERVAL)


def _in(keys) -> str:
    return ", ".join("'" + key.replace("'", "''") + "'" for key in keys)


def bronze_events(keys) -> list[dict]:
    return query(f"SELECT op, trans_num, lsn, kafka_partition, kafka_offset FROM b WHERE trans_num IN ({_in(keys)})",
                 b=BRONZE).to_pylist()


def silver_rows(keys) -> dict[str, dict]:
    columns = ", ".join(f'"{c}"' for c in SILVER_COLUMNS)
    rows = query(f"SELECT {columns} FROM s WHERE trans_num IN ({_in(keys)})", s=SILVER).to_pylist()
    return {row["trans_num"]: row for row in rows}


def postgres_rows(db, keys) -> dict[str, dict]:
    columns = ", ".join(f'"{c}"' for c in SILVER_COLUMNS)
    cursor = db.execute(f"SELECT {columns} FROM transactions WHERE trans_num = ANY(%s)", (list(keys),))
    return {row[COLUMN_NAMES.index("trans_num")]: dict(zip(SILVER_COLUMNS, row)) for row in cursor}


def duplicate_records() -> list[dict]:
    """Kafka records held twice anywhere in bronze (must be none)."""
    return query("SELECT kafka_partition, kafka_offset, count(*) AS n FROM b GROUP BY 1, 2 HAVING count(*) > 1",
                 b=BRONZE).to_pylist()


def wait_for_silver(db, keys, timeout: float = 180) -> None:
    wait_for(lambda: silver_rows(keys) == postgres_rows(db, keys), timeout=timeout,
             what="silver equals PostgreSQL's transactions for the test's keys")


def test_inserts_updates_and_deletes_reach_bronze_once_and_silver_equals_postgres(lakehouse, db):
    keys = [f"lake-{uuid.uuid4().hex}" for _ in range(300)]
    for i, key in enumerate(keys):
        insert(db, a_transaction(key) | {"amt": Decimal(i) + Decimal("0.25")})
    db.execute("UPDATE transactions SET amt = amt * 2, is_fraud = 1 WHERE trans_num = ANY(%s)", (keys[:100],))
    db.execute("DELETE FROM transactions WHERE trans_num = ANY(%s)", (keys[250:],))

    wait_for(lambda: len(bronze_events(keys)) >= 450, timeout=120, what="450 change events in bronze")
    events = bronze_events(keys)
    assert sorted(e["op"] for e in events) == ["c"] * 300 + ["d"] * 50 + ["u"] * 100
    assert len({(e["kafka_partition"], e["kafka_offset"]) for e in events}) == 450
    wait_for_silver(db, keys)
    assert len(silver_rows(keys)) == 250
    assert silver_rows(keys[:1])[keys[0]]["amt"] == Decimal("0.50")
    assert duplicate_records() == []


def test_kill_9_mid_stream_then_restart_loses_and_repeats_nothing(lakehouse, db):
    keys = crash_mid_stream(db, lakehouse, 3000, tps=500, after=800)
    wait_for(lambda: len(bronze_events(keys)) >= 3000, timeout=180, what="every insert in bronze")
    assert len(bronze_events(keys)) == 3000
    assert duplicate_records() == []
    wait_for_silver(db, keys)


def test_a_cleared_checkpoint_resumes_from_bronze_and_writes_nothing_twice(lakehouse, db):
    keys = [f"ckpt-{uuid.uuid4().hex}" for _ in range(50)]
    for key in keys:
        insert(db, a_transaction(key))
    wait_for_silver(db, keys)
    lakehouse.stop()
    clear_checkpoints("lakehouse")
    assert not checkpoint_exists("bronze") and not checkpoint_exists("silver")
    assert cfg.get_streaming_settings().streaming_starting_offsets == "earliest"
    lakehouse.start()

    later = [f"ckpt-{uuid.uuid4().hex}" for _ in range(20)]
    for key in later:
        insert(db, a_transaction(key))
    wait_for_silver(db, keys + later)
    assert len(bronze_events(keys)) == 50 and len(bronze_events(later)) == 20
    assert duplicate_records() == []


def test_a_malformed_record_is_quarantined_with_its_reason_and_the_stream_goes_on(lakehouse, db):
    marker = f"garbage-{uuid.uuid4().hex}"
    kafka = cfg.get_kafka_settings()
    producer = Producer({"bootstrap.servers": kafka.kafka_bootstrap_servers})
    producer.produce(kafka.kafka_topic, key=b'{"trans_num": "x"}', value=marker.encode(), partition=0)
    producer.produce(kafka.kafka_topic, value=json.dumps({"op": "c", "after": {"trans_num": marker, "amt": "ten"}}),
                     partition=1)
    producer.flush(10)
    after = f"after-{uuid.uuid4().hex}"
    insert(db, a_transaction(after))

    def quarantined() -> dict[str, str]:
        rows = query(f"SELECT raw_value, reason FROM q WHERE raw_value LIKE '%{marker}%'", q=QUARANTINE).to_pylist()
        return {row["raw_value"]: row["reason"] for row in rows}

    wait_for(lambda: len(quarantined()) == 2, timeout=120, what="both bad records in the quarantine")
    reasons = quarantined()
    assert reasons[marker] == "not JSON"
    assert [r for v, r in reasons.items() if v != marker] == ["column amt: ten does not cast to decimal(12,2)"]
    wait_for_silver(db, [after])
    assert bronze_events([marker]) == []


def test_optimize_and_gold_run_with_the_job_stopped_and_keep_every_row(lakehouse, spark, db):
    refused = subprocess.run([str(FRAUDLAKE), "lakehouse", "optimize"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert refused.returncode != 0 and "the lakehouse job is running" in refused.stderr

    # The job compacts silver's small files itself (Delta auto compaction, a commit of its
    # own) once it has written LAKEHOUSE_SILVER_COMPACT_MIN_FILES (3) since it started:
    # three MERGEs in a row make a compaction; the counts below prove it kept every row.
    def compactions() -> list[dict]:
        return [h for h in delta_table(*SILVER).history() if h["operation"] == "OPTIMIZE"]

    before = len(compactions())
    for _ in range(3):
        key = f"lake-{uuid.uuid4().hex}"
        insert(db, a_transaction(key))
        wait_for_silver(db, [key])
    wait_for(lambda: len(compactions()) > before, timeout=60, what="silver compacted by the job")
    assert all(str(h["operationParameters"].get("auto")).lower() == "true" for h in compactions())
    lakehouse.stop()
    try:
        silver_count = query("SELECT count(*) AS n FROM s", s=SILVER).to_pylist()[0]["n"]
        bronze_files = len(delta_table(*BRONZE).file_uris())
        bronze_count = query("SELECT count(*) AS n FROM b", b=BRONZE).to_pylist()[0]["n"]
        report = optimize(spark, retention_hours=168, tables=(BRONZE,))
        assert report[uri(BRONZE)]["files_removed"] > 0
        assert len(delta_table(*BRONZE).file_uris()) < bronze_files
        assert query("SELECT count(*) AS n FROM b", b=BRONZE).to_pylist()[0]["n"] == bronze_count

        written = refresh_gold(spark)
        by_hour = query("SELECT sum(transactions) AS n, sum(frauds) AS f FROM g", g=("gold", "fraud_by_hour")).to_pylist()[0]
        labelled = query("SELECT count(*) AS n, sum(CAST(is_fraud AS INT)) AS f FROM s", s=SILVER).to_pylist()[0]
        assert by_hour == {"n": silver_count, "f": labelled["f"]}
        assert written["fraud_by_hour"] <= 24
        cards = query("SELECT sum(transactions) AS n FROM c", c=("gold", "card_daily")).to_pylist()[0]["n"]
        assert cards == silver_count

        # A bronze made before the checkpoint-interval setting (Delta's default, 10) gets
        # the setting when the job starts, and silver reads on past that metadata commit.
        spark.sql(f"ALTER TABLE delta.`{uri(BRONZE)}` SET TBLPROPERTIES ('{CHECKPOINT_INTERVAL}' = '10')")
        assert bronze_checkpoint_interval() == "10"
        spark.sql(f"ALTER TABLE delta.`{uri(SILVER)}` UNSET TBLPROPERTIES ('delta.autoOptimize.autoCompact')")
        ensure_tables(spark)
        assert bronze_checkpoint_interval() == str(cfg.get_streaming_settings().lakehouse_bronze_checkpoint_interval)
        assert delta_table(*SILVER).metadata().configuration.items() >= SILVER_PROPERTIES.items()
    finally:
        lakehouse.start()
    key = f"lake-{uuid.uuid4().hex}"
    insert(db, a_transaction(key))
    wait_for_silver(db, [key])


@pytest.mark.parametrize(("setting", "value"), [("KAFKA_TOPIC_PREFIX", "no.such"),
                                                 ("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")])
def test_a_missing_topic_or_kafka_is_a_clear_error_naming_the_setting(full_stack, setting, value):
    result = subprocess.run([str(FRAUDLAKE), "lakehouse", "run"], cwd=REPO_ROOT, capture_output=True, text=True,
                            env={**os.environ, setting: value}, timeout=120)
    assert result.returncode == 2
    assert f"({setting})" in result.stderr
    assert "Traceback" not in result.stderr and "java" not in result.stderr.lower()
