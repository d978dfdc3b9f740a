"""Reading the lakehouse's Delta tables without a JVM: deltalake (delta-rs) and SQL.

For notebooks, the dashboard and tests. deltalake's DataFusion engine reads what
Spark writes here, deletion vectors included (silver has them), and hands back
Arrow, which DuckDB, polars and pandas take as it is.
"""

from __future__ import annotations

import pyarrow as pa
from deltalake import DeltaTable, QueryBuilder

from fraudlake import settings as cfg


def storage_options() -> dict[str, str]:
    """deltalake's S3 options for MinIO, from the settings (credentials from .env)."""
    minio = cfg.get_minio_settings()
    return {
        "AWS_ACCESS_KEY_ID": minio.minio_root_user,
        "AWS_SECRET_ACCESS_KEY": minio.minio_root_password.get_secret_value(),
        "AWS_ENDPOINT_URL": minio.minio_endpoint,
        "AWS_REGION": minio.minio_region,
        "AWS_ALLOW_HTTP": str(minio.minio_endpoint.startswith("http://")).lower(),
        # MinIO has no DynamoDB lock: the lakehouse's tables have one writer (Spark).
        "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
    }


def delta_table(layer: str, name: str) -> DeltaTable:
    """A table of the lakehouse, e.g. delta_table("silver", "transactions")."""
    bucket = cfg.get_minio_settings().lakehouse_bucket
    return DeltaTable(f"s3://{bucket}/{layer}/{name}", storage_options=storage_options())


def query(sql: str, **tables: tuple[str, str]) -> pa.Table:
    """Run SQL over lakehouse tables named in the query by their keyword, e.g.
    query("SELECT count(*) FROM s", s=("silver", "transactions"))."""
    builder = QueryBuilder()
    for alias, (layer, name) in tables.items():
        builder = builder.register(alias, delta_table(layer, name))
    return pa.table(builder.execute(sql).read_all())
