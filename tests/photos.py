"""Real photographs for image tests, and the upscale command run in-process.

Small crops of scikit-image's bundled photographs (no download, no ``../shared``), so that image
tests see real content — edges, texture, smooth gradients — instead of noise. Imported as
``from photos import Photos, UpscaleCommand`` (``tests/`` is on the path); the fixtures that hand
them out are in ``tests/conftest.py``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from distillsr.cli import main


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
