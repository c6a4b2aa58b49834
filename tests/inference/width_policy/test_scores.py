"""The difficulty score: CSD's bicubic round-trip PSNR orders inputs from easy (smooth) to hard (textured)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from inference.width_policy.toy import photo, synthetic_images

from distillsr.errors import DistillsrError
from distillsr.inference.width_policy.scores import (
    HARDEST,
    SCORES,
    BicubicRoundTrip,
    DifficultyScore,
    luma_255,
    make_score,
)


def test_a_flat_image_survives_the_round_trip_exactly():
    # independent fact: bicubic weights sum to one, so a constant stays that constant (float rounding only)
    flat = np.full((40, 40, 3), 137, np.uint8)
    value = BicubicRoundTrip(4)(flat)
    assert value == math.inf or value > 200


def test_score_orders_flat_smooth_photo_noise():
    images = synthetic_images(seed=3)
    score = BicubicRoundTrip(2)
    flat, gradient = score(images["flat0"]), score(images["gradient0"])
    real, noise = score(photo(64, 64, 200, 240)), score(images["noise2"])
    assert flat > gradient > real > noise
    assert noise < 30 < gradient  # uniform noise loses most of its energy; a ramp keeps almost all


def test_finer_waves_are_harder():
    images = synthetic_images(seed=0)
    score = BicubicRoundTrip(2)
    assert score(images["waves0"]) > score(images["waves1"]) > score(images["waves2"])


def test_psnr_is_the_round_trip_of_the_luma_with_the_border_shaved():
    # the definition spelled out with plain numpy on top of the resize: Y (BT.601, 0-255), crop to x s, shave s
    from distillsr.imaging.resize import imresize

    image = photo(50, 61, 100, 100)
    s = 3
    rgb = image.astype(np.float64) / 255
    y = 16 + rgb @ np.array([65.481, 128.553, 24.966])
    y = y[:48, :60]
    trip = imresize(imresize(y, 1 / s), size=(48, 60))
    mse = np.mean((y[s:-s, s:-s] - trip[s:-s, s:-s]) ** 2)
    assert BicubicRoundTrip(s)(image) == pytest.approx(10 * math.log10(255**2 / mse), rel=1e-12)


def test_tensor_tiles_and_arrays_agree_and_grey_works():
    image = photo(48, 48, 0, 0)
    tensor = torch.from_numpy(image.astype(np.float32) / 255).permute(2, 0, 1)[None]
    score = BicubicRoundTrip(2)
    assert score(tensor) == pytest.approx(score(image), abs=1e-4)
    grey = image[..., 0]
    assert luma_255(grey) == pytest.approx(grey.astype(np.float64))
    assert math.isfinite(score(grey))
    rgba = np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
    assert score(rgba) == score(image)  # alpha is not content


def test_too_small_to_judge_counts_as_hard():
    assert BicubicRoundTrip(4)(np.zeros((3, 9, 3), np.uint8)) == HARDEST


def test_scores_are_pluggable_by_name():
    assert isinstance(make_score("bicubic-psnr", 4), DifficultyScore)
    assert set(SCORES) == {"bicubic-psnr"}
    with pytest.raises(DistillsrError, match="unknown difficulty score 'edges'.*bicubic-psnr"):
        make_score("edges", 4)

    class Brightness:  # any callable with a name is a score
        name = "brightness"

        def __call__(self, lr) -> float:
            return float(np.asarray(lr).mean())

    assert isinstance(Brightness(), DifficultyScore)
