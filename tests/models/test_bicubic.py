"""distillsr.models.bicubic: the bicubic "model" is MATLAB imresize on the same pixels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from distillsr.imaging.resize import imresize
from distillsr.models.bicubic import BicubicUpsampler


def _nchw(images: list[np.ndarray]) -> torch.Tensor:
    """HxWxC uint8 images -> NxCxHxW float in [0, 1] (written here, not via distillsr.imaging.tensors)."""
    return torch.from_numpy(np.stack(images).astype(np.float64) / 255).permute(0, 3, 1, 2).contiguous()


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("channels", [1, 3])
def test_uint8_emulation_equals_imresize_on_the_pixels(rng, scale, channels):
    images = [rng.integers(0, 256, (7, 9, channels), dtype=np.uint8) for _ in range(2)]
    out = BicubicUpsampler(scale)(_nchw(images).float())
    assert out.dtype == torch.float32 and out.shape == (2, channels, 7 * scale, 9 * scale)
    for i, image in enumerate(images):
        expected = imresize(image, scale)  # uint8 in, rounded after each pass, like MATLAB
        got = out[i].permute(1, 2, 0).numpy() * 255
        np.testing.assert_allclose(got, expected, atol=1e-4)
        assert np.abs(got - np.round(got)).max() < 1e-4, "on the 8-bit grid"


def test_input_is_clamped_and_rounded_to_8_bit_first(rng):
    image = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
    x = _nchw([image])
    noisy = x + 0.4 / 255  # rounds back to the same 8-bit pixels
    noisy[0, 0, 0, 0] = 1.7  # clamps to 255
    noisy[0, 1, 0, 0] = -0.3  # clamps to 0
    clean = x.clone()
    clean[0, 0, 0, 0] = 1.0
    clean[0, 1, 0, 0] = 0.0
    upsampler = BicubicUpsampler(2)
    assert torch.equal(upsampler(noisy), upsampler(clean))


def test_float_mode_equals_float_imresize_and_is_differentiable(rng):
    image = rng.random((5, 8, 3))
    x = torch.from_numpy(image).permute(2, 0, 1)[None].clone().requires_grad_(True)
    out = BicubicUpsampler(3, emulate_uint8=False)(x)
    expected = imresize(image, 3)  # float64 in: no rounding
    np.testing.assert_allclose(out[0].detach().permute(1, 2, 0).numpy(), expected, atol=1e-12)
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_uint8_mode_is_not_part_of_a_graph():
    x = torch.rand(1, 3, 4, 4, requires_grad=True)
    assert not BicubicUpsampler(2)(x).requires_grad


def test_it_has_no_parameters_and_says_what_it_is():
    upsampler = BicubicUpsampler(4.0)  # type: ignore[arg-type]
    assert upsampler.scale == 4 and isinstance(upsampler.scale, int)
    assert list(upsampler.parameters()) == [] and upsampler.state_dict() == {}
    assert "scale=4, emulate_uint8=True" in repr(upsampler)
