"""The model registry: every retrained candidate in a directory of its own, and a
pointer file naming the promoted one and its predecessor.

    <MODEL_REGISTRY_DIR>/candidates/<UTC time>-<model version>/   model, metadata, report/, comparison/
    <MODEL_REGISTRY_DIR>/current.json   {"current": "<dir name>", "previous": "<dir name>" | null}
    <MODEL_REGISTRY_DIR>/runs.jsonl      one line per retraining run: the decision and both PR-AUCs

A candidate directory is complete before it gets its final name (written under a
temporary name, then renamed), and promotion or rollback replaces `current.json`
with os.replace, so a reader (the API reloading) sees the old pointer or the new
one, never half of either. Nothing here imports XGBoost: `fraudlake.model.io`
reads the pointer when it resolves which model to load.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from fraudlake import settings as cfg
from fraudlake.errors import FraudlakeError

POINTER = "current.json"
CANDIDATES = "candidates"
RUNS = "runs.jsonl"


class RegistryError(FraudlakeError, RuntimeError):
    """No such candidate, or nothing to roll back to."""


def registry_root() -> Path:
    """MODEL_REGISTRY_DIR, else FRAUDLAKE_RUN_DIR/models."""
    configured = cfg.get_model_settings().model_registry_dir
    return Path(configured) if configured else cfg.get_path_settings().fraudlake_run_dir / "models"


def candidates_dir(root: Path | None = None) -> Path:
    return (root or registry_root()) / CANDIDATES


def read_pointer(root: Path | None = None) -> dict:
    """{"current": name | None, "previous": name | None}."""
    try:
        pointer = json.loads(((root or registry_root()) / POINTER).read_text())
    except FileNotFoundError:
        return {"current": None, "previous": None}
    return {"current": pointer.get("current"), "previous": pointer.get("previous")}


def promoted_model_dir(root: Path | None = None) -> Path | None:
    """The promoted candidate's directory, or None when nothing was promoted."""
    current = read_pointer(root)["current"]
    return candidates_dir(root) / current if current else None


def _write_pointer(root: Path, current: str | None, previous: str | None) -> None:
    tmp = root / f".{POINTER}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps({"current": current, "previous": previous}) + "\n")
    os.replace(tmp, root / POINTER)  # atomic: readers see the old pointer or the new one


def promote(name: str, root: Path | None = None) -> dict:
    """Make candidate `name` the served model; the one served until now becomes `previous`."""
    root = root or registry_root()
    if not (candidates_dir(root) / name / "model.json").is_file():
        raise RegistryError(f"no candidate {name!r} in {candidates_dir(root)}")
    pointer = read_pointer(root)
    if pointer["current"] == name:
        return pointer
    _write_pointer(root, name, pointer["current"])
    return read_pointer(root)


def rollback(root: Path | None = None) -> dict:
    """Serve the previous model again; the rolled-back one becomes `previous` (a second
    rollback undoes the first)."""
    root = root or registry_root()
    pointer = read_pointer(root)
    if not pointer["previous"]:
        raise RegistryError(f"nothing to roll back to: {root / POINTER} names no previous model")
    _write_pointer(root, pointer["previous"], pointer["current"])
    return read_pointer(root)


def record_run(entry: dict, root: Path | None = None) -> None:
    root = root or registry_root()
    root.mkdir(parents=True, exist_ok=True)
    with (root / RUNS).open("a") as runs:
        runs.write(json.dumps(entry, default=str) + "\n")
