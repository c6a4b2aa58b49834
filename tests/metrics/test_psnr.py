"""PSNR against hand-computed values and scikit-image."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from distillsr.metrics.psnr import psnr


def test_psnr_hand_values():
    a = np.zeros((4, 4))
    assert psnr(a, a + 1) == pytest.approx(10 * math.log10(255**2), abs=1e-12)  # 48.1308 dB
    assert psnr(a, a + 1) == pytest.approx(48.130803608679, abs=1e-9)
    assert psnr(a, a) == math.inf
    b = a.copy()
    b[0, 0] = 4  # mse = 16 / 16 = 1
    assert psnr(a, b) == pytest.approx(48.130803608679, abs=1e-9)


def test_psnr_matches_scikit_image(rng):
    a = rng.integers(0, 256, (40, 30, 3)).astype(np.float64)
    b = np.clip(a + rng.normal(0, 7, a.shape), 0, 255)
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=255), abs=1e-10)
