"""MACs per width (counted on the sliced convs) and the chooser's accounting of what was spent."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from inference.width_policy.toy import KWARGS, SCALE, WIDTHS

from distillsr.inference.width_policy.costs import DynamicWidths, macs_per_pixel, pixels_of
from distillsr.inference.width_policy.policy import WidthPolicy
from distillsr.models.zoo import build_model


def edsr_macs_per_lr_pixel(width: float, channels: int, blocks: int, scale: int) -> int:
    """EDSR's conv MACs per LR pixel from its active channels, written out by hand (x2 and x4)."""
    c = int(width * channels) if width != 1.0 else channels
    k = 9
    total = 3 * 3  # sub_mean: a 1x1 conv 3 -> 3
    total += c * 3 * k  # head reads all 3 image channels
    total += 2 * blocks * c * c * k + c * c * k  # residual blocks, body conv
    for stage in range(scale.bit_length() - 1):  # conv(c -> 4c) then shuffle: each stage at 4x the pixels
        total += 4 * c * c * k * 4**stage
    total += (3 * c * k + 3 * 3) * scale * scale  # tail conv writes 3 channels, add_mean, at HR
    return total


@pytest.mark.parametrize("scale", [2, 4])
def test_count_ops_counts_the_sliced_convs(scale):
    model = build_model("edsr-baseline", scale, **KWARGS)
    rates = macs_per_pixel(model, WIDTHS)
    for value in WIDTHS:
        assert rates[value] == edsr_macs_per_lr_pixel(value, KWARGS["channels"], KWARGS["num_blocks"], scale)
    assert model.network.width == 1.0  # counting left the model at full width


def test_macs_grow_with_pixels_exactly():
    # the rate is per pixel: a 64x64 count and a 40x24 count agree (the models are fully convolutional)
    model = build_model("edsr-baseline", SCALE, **KWARGS)
    assert macs_per_pixel(model, [0.5], side=64) == macs_per_pixel(model, [0.5], side=24)


class _Fixed:
    """A stand-in score: the mean of the tile, so tests can choose widths by brightness."""

    name = "mean"

    def __call__(self, lr) -> float:
        return float(np.asarray(lr, dtype=np.float64).mean())


def test_reported_macs_are_the_per_width_macs_weighted_by_the_choices():
    rates = {0.25: 10.0, 0.5: 30.0, 0.75: 60.0, 1.0: 100.0}
    chooser = DynamicWidths(WidthPolicy((0.25, 0.5, 0.75), (200.0, 100.0, 50.0)), _Fixed(), rates)
    images = [np.full((10, 20), 250.0), np.full((30, 10), 120.0), np.full((5, 5), 60.0), np.full((8, 8), 10.0)]
    assert [chooser(image) for image in images] == [0.25, 0.5, 0.75, 1.0]
    summary = chooser.summary()
    spent = 10 * 200 + 30 * 300 + 60 * 25 + 100 * 64
    full = 100 * (200 + 300 + 25 + 64)
    assert summary.macs == spent and summary.full_macs == full
    assert summary.fraction == pytest.approx(spent / full)
    assert summary.mean_width == pytest.approx((0.25 + 0.5 + 0.75 + 1.0) / 4)
    assert summary.counts == {0.25: 1, 0.5: 1, 0.75: 1, 1.0: 1}
    assert "mean width 0.625 over 4 images" in summary.describe("image")
    chooser.reset()
    assert chooser.summary().decisions == 0 and chooser.summary().fraction == 1.0


def test_pixels_of_arrays_and_tensors():
    assert pixels_of(np.zeros((7, 9, 3))) == 63
    assert pixels_of(torch.zeros(1, 3, 7, 9)) == 63


def test_a_rate_is_needed_for_every_width():
    with pytest.raises(ValueError, match="no MACs rate"):
        DynamicWidths(WidthPolicy((0.25,), (1.0,)), _Fixed(), {1.0: 1.0})
