"""Fixtures every test may use; plain helpers live in :mod:`support` and :mod:`photos` (``from support import ...``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from photos import Photos, UpscaleCommand
from support import SHARED, require_shared
from support.training import training_images

from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint
from distillsr.models.zoo import get_entry


@pytest.fixture
def set5_dir() -> Path:
    return require_shared("data", "Set5")


@pytest.fixture
def set14_hr() -> Path:
    return require_shared("data", "Set14", "HR")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep every test's LR cache and weights cache out of the user's home, and every test off the
    network: a zoo name without -w finds no cached official file and may not download one (the
    download tests turn this off and serve file:// URLs)."""
    monkeypatch.setenv("DISTILLSR_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("DISTILLSR_HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.setenv("DISTILLSR_OFFLINE", "1")
    # in-process `distillsr upscale` would change this process's malloc for every later test
    monkeypatch.setenv("DISTILLSR_KEEP_MALLOC", "1")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def photos() -> type[Photos]:
    return Photos


@pytest.fixture
def upscale(capsys) -> UpscaleCommand:
    return UpscaleCommand(capsys)


@pytest.fixture(scope="session")
def x4_model(tmp_path_factory) -> str:
    """The official DIPNet x4 file when present, else a small random DIPNet x4 checkpoint."""
    official = SHARED / "weights" / "official" / "dipnet" / "DIPNet.pth"
    if official.is_file():
        return str(official)
    entry = get_entry("dipnet")
    kwargs = {**entry.defaults, "channels": 12, "mid_channels": 8}
    network = entry.build(4, **kwargs)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for tensor in network.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.05)
    path = tmp_path_factory.mktemp("model") / "tiny_dipnet_x4.safetensors"
    save_checkpoint(path, network.state_dict(), CheckpointInfo("dipnet", 4, kwargs, form="deploy"))
    return str(path)


@pytest.fixture(scope="session")
def images(tmp_path_factory) -> Path:
    """Eight small real photos (scikit-image's bundled samples), cropped: the tiny training set."""
    return training_images(tmp_path_factory.mktemp("train"))
