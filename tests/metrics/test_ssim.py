"""SSIM against scikit-image's Gaussian-window SSIM and MATLAB's fspecial window."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from distillsr.errors import DistillsrError
from distillsr.metrics.ssim import gaussian_window_1d, ssim


@pytest.mark.parametrize("shape", [(37, 41), (32, 30, 3)])
def test_ssim_matches_scikit_image_gaussian(rng, shape):
    """skimage with gaussian_weights, sigma 1.5, population covariance = Wang's MATLAB ssim_index."""
    a = rng.integers(0, 256, shape).astype(np.float64)
    b = np.clip(a + rng.normal(0, 12, shape), 0, 255)
    reference = structural_similarity(
        a, b, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
        channel_axis=2 if len(shape) == 3 else None,
    )
    assert ssim(a, b) == pytest.approx(reference, abs=1e-10)
    assert ssim(a, a) == pytest.approx(1.0)


def test_gaussian_window_is_matlab_fspecial():
    g = gaussian_window_1d()
    assert g.shape == (11,)
    # fspecial('gaussian', 11, 1.5): centre weight of the 2-D kernel is 0.0707622 (MATLAB)
    assert g[5] * g[5] == pytest.approx(0.0707622, abs=1e-6)


def test_ssim_rejects_tiny_and_mismatched():
    with pytest.raises(DistillsrError, match="at least 11x11"):
        ssim(np.zeros((8, 8)), np.zeros((8, 8)))
    with pytest.raises(DistillsrError, match="differ in shape"):
        ssim(np.zeros((12, 12)), np.zeros((12, 13)))
