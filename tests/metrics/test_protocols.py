"""Scoring protocols: borders, channels, rounding, against scikit-image and the papers' bicubic rows."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio
from support import require_shared

from distillsr.errors import DistillsrError
from distillsr.imaging.degrade import modcrop
from distillsr.imaging.resize import imresize
from distillsr.metrics.protocols import get_protocol, mean_score, score


def test_protocol_border_and_channels(rng):
    hr = rng.integers(30, 220, (40, 40, 3), dtype=np.uint8)
    sr = hr.copy()
    sr[:4] = 0  # damage inside a border of 4 only
    assert score(sr, hr, "classic", 4).psnr == math.inf
    assert score(sr, hr, "classic", 3).psnr < 60
    assert score(sr, hr, "ntire", 2).psnr == math.inf  # ntire border is always 4
    # a change that keeps Y but moves chroma: invisible to classic, visible to ntire
    delta = np.array([65.481, 128.553, 24.966])
    chroma = np.cross(delta, [1.0, 1.0, 1.0])
    chroma = chroma / np.abs(chroma).max() * 20
    moved = np.clip(hr.astype(np.float64) + chroma, 0, 255)
    classic = score(moved / 255, hr, "classic", 4)
    ntire = score(moved / 255, hr, "ntire", 4)
    assert classic.psnr > ntire.psnr + 10
    assert classic.protocol == "classic" and ntire.protocol == "ntire"


def test_ntire_matches_scikit_image_rgb(rng):
    hr = rng.integers(0, 256, (48, 52, 3), dtype=np.uint8)
    sr = np.clip(hr / 255 + rng.normal(0, 0.02, hr.shape), 0, 1)
    sr8 = np.floor(sr * 255 + 0.5).astype(np.uint8)
    ours = score(sr, hr, "ntire", 4)
    crop = (slice(4, -4), slice(4, -4))
    assert ours.psnr == pytest.approx(peak_signal_noise_ratio(hr[crop], sr8[crop], data_range=255), abs=1e-10)


def test_rounding_is_half_away_from_zero():
    hr = np.full((30, 30), 100, np.uint8)
    just_above = np.full((30, 30), 100.5 / 255)  # rounds to 101, not banker's 100
    assert score(just_above, hr, "classic", 2).psnr == pytest.approx(48.1308036, abs=1e-6)


def test_unknown_protocol_and_mismatched_sizes():
    with pytest.raises(DistillsrError, match="unknown protocol 'psnr-y'"):
        get_protocol("psnr-y")
    with pytest.raises(DistillsrError, match="differs from ground-truth size"):
        score(np.zeros((20, 20)), np.zeros((24, 20), np.uint8), "classic", 2)
    with pytest.raises(DistillsrError, match="different protocols"):
        mean_score([score(np.zeros((30, 30)), np.zeros((30, 30), np.uint8), p, 2) for p in ("classic", "ntire")])


def _bicubic_scores(folder, scale):
    scores = []
    for path in sorted(folder.iterdir()):
        hr = modcrop(np.asarray(Image.open(path)), scale)
        sr = imresize(imresize(hr, 1 / scale), scale)
        scores.append(score(sr, hr, "classic", scale))
    return mean_score(scores)


@pytest.mark.parametrize(
    "dataset,scale,expected_psnr,expected_ssim",
    [
        ("Set5", 4, 28.4290, 0.81114),
        ("Set5", 2, 33.6734, 0.93029),
        ("Set14", 4, 25.9940, 0.70292),
        ("Set14", 3, 27.5367, 0.77447),
    ],
)
def test_bicubic_rows_of_the_papers(dataset, scale, expected_psnr, expected_ssim):
    """scores.md's reference values (official protocol, incl. greyscale `bridge` in Set14)."""
    folder = require_shared("data", dataset, "HR")
    mean = _bicubic_scores(folder, scale)
    assert mean.psnr == pytest.approx(expected_psnr, abs=1e-4)
    assert mean.ssim == pytest.approx(expected_ssim, abs=1e-5)
