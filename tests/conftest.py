"""Fixtures every test may use; plain helpers live in :mod:`support` (``from support import ...``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from support import require_shared


@pytest.fixture
def set5_dir() -> Path:
    return require_shared("data", "Set5")


@pytest.fixture
def set14_hr() -> Path:
    return require_shared("data", "Set14", "HR")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep every test's LR cache out of the user's home."""
    monkeypatch.setenv("DISTILLSR_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
