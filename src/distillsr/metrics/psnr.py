"""Peak signal-to-noise ratio, the SR literature's way: float64, one mean over all pixels."""

from __future__ import annotations

import math

import numpy as np

from distillsr.errors import DistillsrError


def check_same_shape(a: np.ndarray, b: np.ndarray, what: str) -> None:
    """Refuse to score images of different sizes instead of broadcasting into nonsense."""
    if a.shape != b.shape:
        raise DistillsrError(f"{what}: images differ in shape, {a.shape} vs {b.shape}")


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """PSNR in dB of two arrays on the same scale; ``inf`` for identical images.

    The mean squared error is taken over every element (all channels together), as MATLAB's
    ``psnr`` and BasicSR do; per-channel averaging of PSNR values would give a different number.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    check_same_shape(a, b, "psnr")
    if a.size == 0:
        raise DistillsrError("psnr: cannot score an empty image (is the border crop larger than the image?)")
    mse = float(np.mean((a - b) ** 2))
    if mse == 0:
        return math.inf
    return 10.0 * math.log10(data_range * data_range / mse)
