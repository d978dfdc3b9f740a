"""Checks that Spark can use the lakehouse: writes a small Delta table to MinIO
through S3A, reads it back and compares. Run it after `make up` when a streaming
job cannot reach s3a://…, to see whether the problem is the storage setup:

    .venv/bin/python spark/app/lakehouse_check.py
"""

from __future__ import annotations

import sys
import uuid

from fraudlake.spark import build_spark_session, lakehouse_uri


def main() -> int:
    spark = build_spark_session("fraudlake-lakehouse-check")
    path = lakehouse_uri("_checks", uuid.uuid4().hex[:12])
    expected = spark.range(1000).selectExpr("id", "id * 2 AS doubled")
    expected.write.format("delta").save(path)
    read_back = spark.read.format("delta").load(path)
    missing = expected.exceptAll(read_back).count() + read_back.exceptAll(expected).count()
    print(f"{path}: wrote {expected.count()} rows, read {read_back.count()}, {missing} differ")
    spark.stop()
    return 0 if missing == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
