"""SSIM as in Wang et al.'s MATLAB ``ssim_index.m``, the version SR papers are scored with.

An 11x11 Gaussian window (sigma 1.5), ``K1 = 0.01``, ``K2 = 0.03``, ``L = 255``, filtered with
'valid' boundaries (no padding), no automatic downsampling, mean of the SSIM map. Multi-channel
images get the mean of the per-channel SSIMs (BasicSR's and the NTIRE kit's convention).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from distillsr.errors import DistillsrError
from distillsr.imaging.degrade import gaussian_kernel_1d
from distillsr.metrics.psnr import check_same_shape

WINDOW_SIZE = 11
WINDOW_SIGMA = 1.5
K1 = 0.01
K2 = 0.03


def gaussian_window_1d(size: int = WINDOW_SIZE, sigma: float = WINDOW_SIGMA) -> np.ndarray:
    """The normalised 1-D factor of MATLAB's ``fspecial('gaussian', 11, 1.5)`` used by SSIM."""
    return gaussian_kernel_1d(size, sigma)


def _filter_valid(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    """2-D 'valid' correlation with the separable window ``outer(window, window)``."""
    rows = sliding_window_view(image, window.size, axis=0) @ window
    return sliding_window_view(rows, window.size, axis=1) @ window


def _ssim_channel(a: np.ndarray, b: np.ndarray, data_range: float) -> float:
    window = gaussian_window_1d()
    c1 = (K1 * data_range) ** 2
    c2 = (K2 * data_range) ** 2
    mu_a = _filter_valid(a, window)
    mu_b = _filter_valid(b, window)
    var_a = _filter_valid(a * a, window) - mu_a * mu_a
    var_b = _filter_valid(b * b, window) - mu_b * mu_b
    cov = _filter_valid(a * b, window) - mu_a * mu_b
    numerator = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    denominator = (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)
    return float(np.mean(numerator / denominator))


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Mean SSIM of two ``HxW`` or ``HxWxC`` arrays on the same scale."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    check_same_shape(a, b, "ssim")
    if a.ndim not in (2, 3):
        raise DistillsrError(f"ssim expects HxW or HxWxC images, got shape {a.shape}")
    if a.shape[0] < WINDOW_SIZE or a.shape[1] < WINDOW_SIZE:
        raise DistillsrError(
            f"ssim needs images of at least {WINDOW_SIZE}x{WINDOW_SIZE} after border crop, got {a.shape[:2]}"
        )
    if a.ndim == 2:
        return _ssim_channel(a, b, data_range)
    return float(np.mean([_ssim_channel(a[..., c], b[..., c], data_range) for c in range(a.shape[2])]))
