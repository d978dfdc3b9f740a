"""Directories under the run directory: the stack's data, logs and configuration,
readable by the user who runs it and, at most, its group — never by anyone else
(connector configuration and logs can carry hostnames and user names)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

RUN_DIR_MODE = 0o750


def make_dir(path: Path, group: str | None = None) -> Path:
    """`path` and any missing parents with RUN_DIR_MODE (whatever the umask), optionally
    owned by `group`, so that a service running as another user of that group can enter."""
    missing = [directory for directory in (path, *path.parents) if not directory.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=RUN_DIR_MODE)
    for directory in (path, *missing):
        os.chmod(directory, RUN_DIR_MODE)  # mkdir's mode is filtered by the umask; an old directory may be 777
        if group is not None:
            shutil.chown(directory, group=group)
    return path
