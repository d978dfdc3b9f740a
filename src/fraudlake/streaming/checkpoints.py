"""The streaming queries' checkpoints on MinIO: where each lives, and clearing them.

One prefix per query. `fraudlake streaming restart --clear-checkpoints` deletes the
prefixes of the jobs it restarts; the jobs are built so that this repeats nothing
(bronze resumes from the offsets in the table, silver's MERGE and the prediction
job's inserts are idempotent).
"""

from __future__ import annotations

from pyarrow import fs

from fraudlake import settings as cfg

JOB_QUERIES: dict[str, dict[str, tuple[str, ...]]] = {
    "lakehouse": {"bronze": ("checkpoints", "bronze"), "silver": ("checkpoints", "silver")},
    "prediction": {"prediction": ("checkpoints", "realtime-prediction")},
}


def checkpoint_parts(query: str) -> tuple[str, ...]:
    for queries in JOB_QUERIES.values():
        if query in queries:
            return queries[query]
    raise KeyError(query)


def _key(*parts: str) -> str:
    return "/".join([cfg.get_minio_settings().lakehouse_bucket, *parts])


def _filesystem() -> fs.S3FileSystem:
    # Imported here: fraudlake.stack imports this module for JOB_QUERIES.
    from fraudlake.stack.minio import s3_filesystem

    return s3_filesystem(cfg.get_minio_settings())


def checkpoint_exists(query: str) -> bool:
    """Whether the query has a checkpoint with offsets in it (a cleared one has none)."""
    info = _filesystem().get_file_info(_key(*checkpoint_parts(query), "offsets"))
    return info.type == fs.FileType.Directory


def clear_checkpoints(job: str) -> list[str]:
    """Delete every checkpoint of a job; the prefixes deleted."""
    filesystem = _filesystem()
    cleared = []
    for parts in JOB_QUERIES[job].values():
        key = _key(*parts)
        if filesystem.get_file_info(key).type == fs.FileType.Directory:
            filesystem.delete_dir(key)
        cleared.append(f"s3a://{key}")
    return cleared
