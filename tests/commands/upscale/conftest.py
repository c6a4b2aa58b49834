"""Fixtures for the ``distillsr upscale`` tests: real photographs, a model, and the command.

Images are real photographs (scikit-image's bundled ones, cropped small, and Set5); the model is
the official DIPNet x4 when ``../shared`` has it, else a small random DIPNet. Helpers come as
fixtures because test folders are not packages (``--import-mode=importlib``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data
from support import SHARED

from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint
from distillsr.cli import main
from distillsr.models.zoo import get_entry


class Photos:
    """Small crops of scikit-image's photographs, and saving them as files."""

    @staticmethod
    def astronaut(height: int = 48, width: int = 64) -> np.ndarray:
        return np.ascontiguousarray(data.astronaut()[100 : 100 + height, 200 : 200 + width])

    @staticmethod
    def camera(height: int = 48, width: int = 64) -> np.ndarray:
        return np.ascontiguousarray(data.camera()[120 : 120 + height, 200 : 200 + width])

    @staticmethod
    def coffee(height: int = 48, width: int = 64) -> np.ndarray:
        return np.ascontiguousarray(data.coffee()[150 : 150 + height, 250 : 250 + width])

    @classmethod
    def hard_edge_rgba(cls, edge: int = 32) -> np.ndarray:
        """The astronaut, transparent left of ``edge`` and opaque right of it."""
        rgba = np.dstack([cls.astronaut(), np.zeros((48, 64), np.uint8)])
        rgba[:, edge:, 3] = 255
        return rgba

    @staticmethod
    def save(path: Path, pixels: np.ndarray, **options) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path, **options)
        return path

    @staticmethod
    def checksum(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()


class UpscaleCommand:
    """``distillsr upscale`` run in this process (fast: torch is imported once), output captured."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys

    def __call__(self, *args: str, console_flags: tuple[str, ...] = ()) -> tuple[int, str, str]:
        """Exit code, stdout and stderr of ``distillsr [console_flags] upscale ARGS``."""
        code = main([*console_flags, "upscale", *args])
        captured = self._capsys.readouterr()
        return code, captured.out, captured.err

    @staticmethod
    def lines(text: str, prefix: str) -> list[str]:
        return [line for line in text.splitlines() if line.startswith(prefix)]


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
