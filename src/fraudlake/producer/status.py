"""A producer run's progress as a small JSON file, for whoever watches it from
another process (the dashboard's producer controls run `producer stream` as a child).

The file is replaced atomically, so a reader never sees half of it, and at most
once a second while the run goes on: a stream commits twenty times a second and
each write is a rename on disk.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path

from fraudlake.producer.db import Counts


class StatusFile:
    def __init__(self, path: Path, every_seconds: float = 1.0):
        self.path = path
        self.every_seconds = every_seconds
        self._written_at = float("-inf")

    def __call__(self, counts: Counts, elapsed: float) -> None:
        """Record progress, unless it was recorded less than `every_seconds` ago."""
        if time.monotonic() - self._written_at >= self.every_seconds:
            self.write(counts, elapsed, finished=False)

    def write(self, counts: Counts, elapsed: float, *, finished: bool) -> None:
        self._written_at = time.monotonic()
        partial = self.path.with_name(self.path.name + ".tmp")
        partial.write_text(json.dumps({**asdict(counts), "elapsed": elapsed, "finished": finished}))
        os.replace(partial, self.path)


def read_status(path: Path) -> dict | None:
    """The last progress written to `path`, or None when there is none."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
