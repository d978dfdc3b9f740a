"""Shared by the producer tests: the sample file, running the CLI, reading the tables."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import psycopg

from tests.conftest import REPO_ROOT
from tests.conftest import SAMPLE_CSV as SAMPLE

FRAUDLAKE = REPO_ROOT / ".venv" / "bin" / "fraudlake"


def clean(db: psycopg.Connection) -> None:
    db.execute("TRUNCATE transactions, transactions_quarantine CASCADE")


def count(db: psycopg.Connection, table: str = "transactions") -> int:
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def producer(*args: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen:
    """`fraudlake producer …` as a child process, in the test environment."""
    return subprocess.Popen(
        [str(FRAUDLAKE), "producer", *args], env={**os.environ, **(env or {})}, cwd=REPO_ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs,
    )


def run_producer(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    process = producer(*args, "--no-progress", env=env)
    stdout, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def summary(stdout: str) -> dict[str, int]:
    """The figures of the summary line: read, loaded, skipped, quarantined."""
    found = dict(re.findall(r"(read|loaded|present|quarantined) ([\d,]+)", stdout))
    names = {"read": "read", "loaded": "loaded", "present": "skipped", "quarantined": "quarantined"}
    return {names[key]: int(value.replace(",", "")) for key, value in found.items()}
