"""The registry's pointer: promotion and rollback, and which model `load_model` resolves."""

from __future__ import annotations

import shutil

import pytest

from fraudlake.model import registry
from fraudlake.model.io import DEFAULT_MODEL_DIR, resolve_model_dir


def _candidate(root, name):
    shutil.copytree(DEFAULT_MODEL_DIR, registry.candidates_dir(root) / name)


def test_promote_and_rollback_move_the_pointer_and_the_resolved_model(tmp_path, monkeypatch):
    monkeypatch.setenv("MODEL_REGISTRY_DIR", str(tmp_path))
    monkeypatch.delenv("MODEL_DIR", raising=False)
    registry.cfg.reset_settings()
    try:
        assert resolve_model_dir() == DEFAULT_MODEL_DIR  # nothing promoted
        _candidate(tmp_path, "a")
        _candidate(tmp_path, "b")
        with pytest.raises(registry.RegistryError):
            registry.rollback(tmp_path)
        with pytest.raises(registry.RegistryError):
            registry.promote("missing", tmp_path)

        assert registry.promote("a", tmp_path) == {"current": "a", "previous": None}
        assert registry.promote("b", tmp_path) == {"current": "b", "previous": "a"}
        assert resolve_model_dir() == tmp_path / "candidates" / "b"
        assert registry.rollback(tmp_path) == {"current": "a", "previous": "b"}
        assert resolve_model_dir() == tmp_path / "candidates" / "a"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["candidates", "current.json"]  # no temp file left
    finally:
        monkeypatch.undo()
        registry.cfg.reset_settings()
