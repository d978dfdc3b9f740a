"""The one error model: the `fraudlake` command turns any FraudlakeError into its
message on stderr and exit status 2, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fraudlake import errors
from fraudlake import settings as cfg
from fraudlake.cdc import CdcDecodeError
from fraudlake.cli import main
from fraudlake.kaggle import KaggleFormatError
from fraudlake.model.io import DEFAULT_MODEL_DIR, METADATA_FILE, ModelLoadError
from fraudlake.model.registry import RegistryError
from fraudlake.model.report import EvaluationDataError
from fraudlake.model.training import TrainingDataError
from fraudlake.risk import RiskBandsError
from fraudlake.stack import StackError
from tests.conftest import SAMPLE_CSV

FRAUDLAKE = Path(sys.executable).parent / "fraudlake"


def fresh_fraudlake(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """`fraudlake …` as a new user runs it: in a directory with no `.env` and no fraudlake variables."""
    env = {"PATH": os.environ["PATH"], "HOME": str(cwd)}
    return subprocess.run([str(FRAUDLAKE), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def fraudlake(cwd: Path, *args: str):
    """`fraudlake …` in this process (the commands below read no secret setting), from `cwd`."""
    here = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args))
    finally:
        os.chdir(here)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def assert_reported(result: subprocess.CompletedProcess, *phrases: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr


@pytest.mark.parametrize("command", ["status", "down"])
def test_a_checkout_without_env_gets_the_missing_settings_and_what_to_do(tmp_path, command):
    assert_reported(fresh_fraudlake(tmp_path, command), "POSTGRES_PASSWORD: Field required",
                    f"{tmp_path / '.env'}, which does not exist", "fraudlake env init")


def test_evaluate_with_a_directory_that_holds_no_model(tmp_path):
    assert_reported(fraudlake(tmp_path, "evaluate", "--csv", str(SAMPLE_CSV), "--model", str(tmp_path)),
                    f"cannot load a model from {tmp_path}")


def test_a_message_is_printed_verbatim_even_when_it_looks_like_markup(tmp_path):
    shutil.copytree(DEFAULT_MODEL_DIR, tmp_path / "model")
    metadata = json.loads((tmp_path / "model" / METADATA_FILE).read_text())
    (tmp_path / "model" / METADATA_FILE).write_text(json.dumps(metadata | {"features": ["[bold]x", "[/y]"]}))
    assert_reported(fraudlake(tmp_path, "evaluate", "--csv", str(SAMPLE_CSV), "--model", "model"),
                    "trained on features ['[bold]x', '[/y]']")


def test_evaluate_with_a_file_in_another_format(tmp_path):
    lines = SAMPLE_CSV.read_text().splitlines()[:20]
    lines[0] = lines[0].replace(",amt,", ",amount,")
    (tmp_path / "renamed.csv").write_text("\n".join(lines) + "\n")
    assert_reported(fraudlake(tmp_path, "evaluate", "--csv", "renamed.csv"), "missing columns: amt")


def test_evaluate_with_a_file_without_fraud(tmp_path):
    (tmp_path / "legit.csv").write_text("\n".join(SAMPLE_CSV.read_text().splitlines()[:100]) + "\n")
    assert_reported(fraudlake(tmp_path, "evaluate", "--csv", "legit.csv"), "99 rows, 0 frauds")
    assert not (tmp_path / "reports").exists()


def test_rollback_with_nothing_promoted_before(tmp_path, monkeypatch):
    monkeypatch.setenv("MODEL_REGISTRY_DIR", str(tmp_path / "registry"))
    cfg.reset_settings()
    try:
        assert_reported(fraudlake(tmp_path, "model", "rollback", "--no-reload"), "nothing to roll back to")
    finally:
        monkeypatch.undo()
        cfg.reset_settings()


@pytest.mark.parametrize("cls", [StackError, ModelLoadError, RiskBandsError, TrainingDataError, EvaluationDataError,
                                 KaggleFormatError, CdcDecodeError, RegistryError, errors.SettingsError])
def test_every_reported_error_is_a_fraudlake_error(cls):
    assert issubclass(cls, errors.FraudlakeError)
