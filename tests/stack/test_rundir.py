"""The run directory holds logs, configuration and data: nobody but the stack's user
(and, as root, the postgres group) may enter it."""

from __future__ import annotations

import os
import stat

import pytest

from fraudlake.stack.rundir import make_dir
from tests.conftest import TEST_RUN_DIR


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_directories_are_0750_whatever_the_umask(tmp_path):
    old_umask = os.umask(0)
    try:
        made = make_dir(tmp_path / "run" / "logs")
        (tmp_path / "old").mkdir(mode=0o777)
        make_dir(tmp_path / "old")
    finally:
        os.umask(old_umask)
    assert _mode(made) == _mode(made.parent) == 0o750
    assert _mode(tmp_path / "old") == 0o750


@pytest.mark.stack
def test_the_stack_run_and_log_directories_are_closed_to_others(postgres_service):
    for directory in (TEST_RUN_DIR, TEST_RUN_DIR / "logs", TEST_RUN_DIR / "postgres"):
        assert _mode(directory) & 0o007 == 0, (directory, oct(_mode(directory)))
