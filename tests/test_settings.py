"""Settings: `.env.example` documents every setting, and `.env` gets generated secrets."""

from __future__ import annotations

import pytest
from fraudlake import settings as cfg
from fraudlake.envfile import ensure_env_file, render_example, secret_names
from fraudlake.errors import FraudlakeError

from tests.conftest import REPO_ROOT


def test_env_example_is_rendered_from_the_settings_classes():
    committed = (REPO_ROOT / ".env.example").read_text()
    assert committed == render_example(), "regenerate it: fraudlake env example > .env.example"


def test_every_setting_is_documented():
    for cls in cfg.ALL_SETTINGS:
        for name, field in cls.model_fields.items():
            assert field.description, f"{cls.__name__}.{name} has no description"


def test_a_new_env_file_gets_a_distinct_value_for_every_secret(tmp_path):
    env = tmp_path / ".env"
    assert ensure_env_file(env, REPO_ROOT / ".env.example") is True
    values = dict(line.split("=", 1) for line in env.read_text().splitlines() if "=" in line and not line.startswith("#"))
    secrets = [values[name] for name in secret_names()]
    assert all(len(value) >= 16 for value in secrets)
    assert len(set(secrets)) == len(secrets)
    assert env.stat().st_mode & 0o077 == 0


def test_an_existing_env_file_is_kept_and_only_missing_secrets_are_added(tmp_path):
    env = tmp_path / ".env"
    env.write_text("POSTGRES_PASSWORD=mine\nPOSTGRES_PORT=6543\n")
    assert ensure_env_file(env, REPO_ROOT / ".env.example") is False
    text = env.read_text()
    assert "POSTGRES_PASSWORD=mine\n" in text and "POSTGRES_PORT=6543\n" in text
    assert all(f"{name}=" in text for name in secret_names())


def test_a_missing_secret_is_an_error_naming_it(monkeypatch, tmp_path):
    monkeypatch.setenv("FRAUDLAKE_ENV_FILE", str(tmp_path / "absent.env"))
    monkeypatch.delenv("POSTGRES_PASSWORD", raising=False)
    with pytest.raises(FraudlakeError, match="POSTGRES_PASSWORD: Field required") as raised:
        cfg.PostgresSettings()
    assert "absent.env, which does not exist (`fraudlake env init`" in str(raised.value)


def test_postgres_bin_dir_is_a_setting(monkeypatch, tmp_path):
    from fraudlake.stack.postgres import bin_dir
    from fraudlake.stack.process import StackError

    real = bin_dir()
    try:
        monkeypatch.setenv("POSTGRES_BIN_DIR", str(tmp_path))
        cfg.reset_settings()
        with pytest.raises(StackError, match=f"POSTGRES_BIN_DIR={tmp_path} holds no initdb"):
            bin_dir()
        monkeypatch.setenv("POSTGRES_BIN_DIR", str(real))
        cfg.reset_settings()
        assert bin_dir() == real
    finally:
        monkeypatch.undo()
        cfg.reset_settings()
