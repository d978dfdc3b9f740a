"""Spark writes a Delta table to MinIO through S3A and reads the same rows back."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import pytest
from pyspark.testing import assertDataFrameEqual

from fraudlake import settings as cfg
from fraudlake.spark import lakehouse_uri
from fraudlake.stack.minio import s3_filesystem

pytestmark = [pytest.mark.stack, pytest.mark.spark]


def test_delta_table_round_trips_through_minio(full_stack, spark):
    table = f"tests/delta-{uuid.uuid4().hex[:8]}"
    rows = [("a1", Decimal("4.97"), datetime(2019, 1, 1, 0, 0, 18), 0),
            ("b2", Decimal("107.23"), datetime(2019, 1, 1, 0, 0, 44), 1)]
    frame = spark.createDataFrame(rows, "trans_num string, amt decimal(12,2), trans_date_trans_time timestamp, is_fraud int")

    frame.write.format("delta").save(lakehouse_uri(table))
    read_back = spark.read.format("delta").load(lakehouse_uri(table))

    assertDataFrameEqual(read_back, frame)
    minio = cfg.get_minio_settings()
    log = s3_filesystem(minio).get_file_info(f"{minio.lakehouse_bucket}/{table}/_delta_log/00000000000000000000.json")
    assert log.size > 0
