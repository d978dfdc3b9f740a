"""The notebooks, executed top to bottom against the test stack's lakehouse, which the
module fixture fills with a small known data set through the project's own writers:
BronzeWriter, the silver MERGE, refresh_gold and an append to gold/fraud_predictions,
as the lakehouse and prediction jobs would."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest
from delta.tables import DeltaTable
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from py4j.java_gateway import is_instance_of
from py4j.protocol import Py4JJavaError
from pyspark.sql import functions as F

from fraudlake.lakehouse.gold import refresh_gold
from fraudlake.lakehouse.job import BronzeWriter, merge_changes
from fraudlake.lakehouse.tables import BRONZE, QUARANTINE, SILVER, ensure_tables, uri
from fraudlake.prediction.job import GOLD_PREDICTIONS, PREDICTION_EXPORT_SCHEMA
from tests.conftest import REPO_ROOT
from tests.lakehouse.test_transforms import kafka_batch
from tests.test_cdc import AFTER

pytestmark = [pytest.mark.stack, pytest.mark.spark]

NOTEBOOKS = REPO_ROOT / "notebooks"
CELL_TIMEOUT = 300
# A Kafka partition the topic does not have: the lakehouse job resumes each real
# partition after bronze's highest offset in it, so these rows never make it skip one.
PARTITION = 999
# The source commit time of the events, so they land in a bronze partition of their own.
COMMITTED_AT = datetime(2025, 1, 1, 12, tzinfo=UTC)


@dataclass(frozen=True)
class KnownData:
    followed: str  # created (amt 4.97), then updated (amt 123.45, labelled fraud)
    silver_version_before_update: int
    minimum_rows: dict[str, int]  # what the fixture added to each table


def change_event(op: str, trans_num: str, lsn: int, **changes) -> bytes:
    image = {**AFTER, "trans_num": trans_num, **changes}
    before, after = (image, None) if op == "d" else (None, image)
    return json.dumps({"op": op, "before": before, "after": after,
                       "source": {"lsn": lsn, "ts_ms": int(COMMITTED_AT.timestamp() * 1000), "txId": lsn}}).encode()


def retried_on_conflict(spark, action) -> None:
    """Run a Delta write again if a concurrent commit conflicts with it: a lakehouse job
    running on the test stack merges these bronze rows and refreshes gold too. Both
    writes are idempotent (an equal LSN changes nothing; gold is overwritten)."""
    for attempt in range(3):
        try:
            action()
            return
        except Py4JJavaError as error:
            conflict = is_instance_of(spark.sparkContext._gateway, error.java_exception,
                                      "java.util.ConcurrentModificationException")
            if not conflict or attempt == 2:
                raise


def write_batch(spark, writer: BronzeWriter, batch_id: int, values: list[bytes]) -> None:
    """One micro-batch through bronze and the silver MERGE, as the two queries do."""
    first = 1 + max(writer.written[table].get(PARTITION, -1) for table in (BRONZE, QUARANTINE))
    writer(kafka_batch(spark, values, partition=PARTITION, first_offset=first), batch_id)
    changes = (spark.read.format("delta").load(uri(BRONZE)).where(F.col("kafka_partition") == PARTITION)
               .where(F.col("kafka_offset").between(first, first + len(values) - 1)))
    retried_on_conflict(spark, lambda: merge_changes(DeltaTable.forPath(spark, uri(SILVER)), changes))


def append_predictions(spark, keys: list[str], followed: str) -> None:
    path = uri(GOLD_PREDICTIONS)
    # Negative ids: the prediction job's exporter resumes after the table's highest id,
    # which these must never raise above PostgreSQL's real ones.
    lowest = (spark.read.format("delta").load(path).agg(F.min("id")).first()[0]
              if DeltaTable.isDeltaTable(spark, path) else None) or 0
    first_id = min(lowest, 0) - 1
    now = datetime.now(UTC)
    rows = [(first_id - i, key, 0.93 if key == followed else 0.02, key == followed,
             "HIGH" if key == followed else "LOW", "notebook-test", now, i, now, "[]")
            for i, key in enumerate(keys)]
    spark.createDataFrame(rows, PREDICTION_EXPORT_SCHEMA).write.format("delta").mode("append").save(path)


@pytest.fixture(scope="module")
def known_data(full_stack, spark) -> KnownData:
    run = uuid.uuid4().hex[:12]
    keys = [f"nb-{run}-{i}" for i in range(6)]
    followed, deleted = keys[0], keys[-1]
    ensure_tables(spark)
    writer = BronzeWriter(spark)

    rows = {key: {"category": category, "is_fraud": i % 2}
            for i, (key, category) in enumerate(zip(keys, ["grocery_pos", "travel", "misc_net"] * 2))}
    creates = [change_event("c", key, 100 + i, **row) for i, (key, row) in enumerate(rows.items())]
    write_batch(spark, writer, 0, [*creates, f"not a change event {run}".encode()])
    silver_version_before_update = DeltaTable.forPath(spark, uri(SILVER)).history(1).first().version
    update = rows[followed] | {"amt": "123.45", "is_fraud": 1}
    write_batch(spark, writer, 1, [change_event("u", followed, 200, **update),
                                   change_event("d", deleted, 201, **rows[deleted])])
    retried_on_conflict(spark, lambda: refresh_gold(spark))
    append_predictions(spark, keys, followed)
    return KnownData(followed, silver_version_before_update, {
        "bronze/transactions": 8, "bronze/transactions_quarantine": 1, "silver/transactions": 5,
        "gold/fraud_by_day_category": 3, "gold/fraud_by_hour": 1, "gold/card_daily": 1, "gold/fraud_predictions": 6})


@pytest.fixture(scope="module")
def kernel_specs(tmp_path_factory) -> KernelSpecManager:
    """A `python3` kernelspec running this interpreter (the venv's), written by ipykernel
    itself: the notebooks run with the project installed whatever kernels the machine has."""
    kernels = tmp_path_factory.mktemp("kernels")
    write_kernel_spec(kernels / "python3")
    return KernelSpecManager(kernel_dirs=[str(kernels)])


def execute(name: str, cwd: Path, kernel_specs: KernelSpecManager, **parameters) -> nbformat.NotebookNode:
    """Run a notebook as Jupyter would from `cwd`, its parameters set in a cell after the
    one tagged `parameters` (papermill's convention). The kernel inherits the test
    environment: the test stack's ports and FRAUDLAKE_ENV_FILE."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    index = next(i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", []))
    assignments = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(assignments))
    kernel = KernelManager(kernel_name="python3", kernel_spec_manager=kernel_specs)
    NotebookClient(notebook, km=kernel, timeout=CELL_TIMEOUT,
                   resources={"metadata": {"path": str(cwd)}}).execute(cleanup_kc=True)
    return notebook


def text_of(cell) -> str:
    """What a cell printed and displayed; not stderr, where the JVM's log lines land."""
    return "\n".join(output.get("text", "") if output.output_type == "stream" and output.name == "stdout"
                     else output.get("data", {}).get("text/plain", "") for output in cell.outputs)


def tagged(notebook, tag: str) -> str:
    (cell,) = [cell for cell in notebook.cells if tag in cell.metadata.get("tags", [])]
    return text_of(cell)


def shows(text: str, number: str) -> bool:
    """`number` as a whole value, not inside another (e.g. a timestamp's seconds)."""
    return re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", text) is not None


@pytest.mark.parametrize(("name", "cwd"), [("lakehouse_spark.ipynb", REPO_ROOT),
                                           ("lakehouse_without_jvm.ipynb", NOTEBOOKS)])
def test_the_notebook_answers_about_the_known_rows(known_data, kernel_specs, name, cwd):
    notebook = execute(name, cwd, kernel_specs, trans_num=known_data.followed,
                       silver_version=known_data.silver_version_before_update)
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert [output for output in outputs if output.output_type == "error"] == []

    counts = tagged(notebook, "counts")
    for table, minimum in known_data.minimum_rows.items():
        match = re.search(rf"^{re.escape(table)}\s+(\d+)\s*$", counts, re.MULTILINE)
        assert match and int(match[1]) >= minimum, f"{table}: {counts}"

    history = tagged(notebook, "history")
    assert re.search(r"\bc\b", history) and re.search(r"\bu\b", history) and not re.search(r"\bd\b", history)
    assert shows(history, "4.97") and shows(history, "123.45")
    assert COMMITTED_AT.date().isoformat() in tagged(notebook, "day")
    silver_row = tagged(notebook, "silver-row")
    assert known_data.followed in silver_row and shows(silver_row, "123.45") and not shows(silver_row, "4.97")
    before_update = tagged(notebook, "time-travel")
    assert known_data.followed in before_update and shows(before_update, "4.97") and not shows(before_update, "123.45")
    prediction = tagged(notebook, "predictions")
    assert known_data.followed in prediction and shows(prediction, "0.93")
    assert any("image/png" in output.get("data", {}) for output in outputs)
