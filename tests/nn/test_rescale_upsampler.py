"""nn.rescale_upsampler: a resampled pixel-shuffle tail draws the old tail's output area-resampled."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from distillsr.errors import DistillsrError
from distillsr.nn.rescale_upsampler import area_weights, rescale_pixel_shuffle


def _tail(features: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, scale: int) -> torch.Tensor:
    return F.pixel_shuffle(F.conv2d(features, weight, bias, padding=1), scale)


@pytest.mark.parametrize(("source", "target"), [(4, 2), (4, 3), (4, 1), (2, 4), (3, 2)])
def test_the_new_tail_draws_the_old_output_area_resampled(source, target):
    """Independent reference: paint the old output onto a fine grid of source*target cells per LR
    pixel (nearest), then average target-sized blocks of it."""
    generator = torch.Generator().manual_seed(0)
    channels, features = 3, torch.rand(1, 8, 5, 6, generator=generator, dtype=torch.float64)
    weight = torch.randn(channels * source**2, 8, 3, 3, generator=generator, dtype=torch.float64)
    bias = torch.randn(channels * source**2, generator=generator, dtype=torch.float64)
    old = _tail(features, weight, bias, source)
    new = _tail(features, rescale_pixel_shuffle(weight, source, target), rescale_pixel_shuffle(bias, source, target), target)
    fine = old.repeat_interleave(target, dim=2).repeat_interleave(target, dim=3)
    reference = F.avg_pool2d(fine, source)
    assert new.shape == (1, channels, 5 * target, 6 * target)
    assert torch.allclose(new, reference, atol=1e-12)


def test_area_weights_are_the_exact_overlaps():
    assert torch.equal(area_weights(4, 2), torch.tensor([[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]], dtype=torch.float64))
    thirds = area_weights(4, 3)
    assert torch.allclose(thirds[0], torch.tensor([0.75, 0.25, 0, 0], dtype=torch.float64))
    assert torch.allclose(thirds[1], torch.tensor([0, 0.5, 0.5, 0], dtype=torch.float64))
    assert torch.allclose(thirds.sum(dim=1), torch.ones(3, dtype=torch.float64))


def test_the_dtype_is_kept_and_wrong_shapes_are_refused():
    weight = torch.randn(48, 4, 3, 3)
    assert rescale_pixel_shuffle(weight, 4, 2).dtype == torch.float32
    with pytest.raises(DistillsrError, match="multiple of 16 outputs"):
        rescale_pixel_shuffle(torch.randn(12, 4, 3, 3), 4, 2)
    with pytest.raises(DistillsrError, match="must be positive"):
        area_weights(0, 2)
