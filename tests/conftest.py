"""Shared fixtures: where the real benchmark images live, and a skip when they do not."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DISTILLSR_SHARED", REPO_ROOT.parent / "shared"))
SHARED_DATA = SHARED / "data"
SHARED_REFERENCE = SHARED / "reference"


def require_shared(*parts: str) -> Path:
    """The path under ``../shared`` or a clean skip naming what is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available (the ../shared folder of real images and weights is absent)")
    return path


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


def official_weights(family: str, filename: str) -> Path:
    """An official checkpoint under ``../shared/weights/official`` or a clean skip."""
    return require_shared("weights", "official", family, filename)


def read_key_file(path: Path) -> dict[str, tuple[int, ...]]:
    """``name [d1,d2,...]`` lines of a reference key list (``#`` lines are comments)."""
    keys = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, shape = line.split(" ", 1)
        dims = shape.strip().strip("[]")
        keys[name] = tuple(int(d) for d in dims.split(",") if d.strip())
    return keys


def state_dict_shapes(module) -> dict[str, tuple[int, ...]]:
    return {name: tuple(t.shape) for name, t in module.state_dict().items()}
