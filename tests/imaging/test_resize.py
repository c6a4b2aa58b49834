"""MATLAB imresize: checked against MATLAB's own output files and hand-derived weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from distillsr.errors import DistillsrError
from distillsr.imaging.degrade import modcrop
from distillsr.imaging.resize import (
    contributions,
    imresize,
    imresize_torch,
    output_size,
)

SET5 = ("baby", "bird", "butterfly", "head", "woman")


def _load(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_reproduces_official_set5_lr_bit_exactly(set5_dir, scale):
    """The official LR files were made by MATLAB imresize on uint8 HR: we must match every pixel."""
    for name in SET5:
        hr = modcrop(_load(set5_dir / "HR" / f"{name}.png"), scale)
        official = _load(set5_dir / "LR_bicubic" / f"X{scale}" / f"{name}x{scale}.png")
        ours = imresize(hr, 1 / scale)
        assert ours.dtype == np.uint8
        np.testing.assert_array_equal(ours, official, err_msg=f"{name} x{scale}")
        ours_torch = imresize_torch(torch.from_numpy(hr.copy()).permute(2, 0, 1)[None], 1 / scale)
        assert ours_torch.dtype == torch.uint8
        np.testing.assert_array_equal(ours_torch[0].permute(1, 2, 0).numpy(), official, err_msg=f"torch {name}")


def test_float_path_reproduces_x8_rounded_once(set5_dir):
    """X8 was computed in floating point and rounded once: the float path must match it."""
    for name in SET5:
        hr = modcrop(_load(set5_dir / "HR" / f"{name}.png"), 8)
        official = _load(set5_dir / "LR_bicubic" / "X8" / f"{name}x8.png")
        ours = imresize(hr.astype(np.float64), 1 / 8)
        assert ours.dtype == np.float64
        np.testing.assert_array_equal(np.floor(ours + 0.5).clip(0, 255).astype(np.uint8), official)
        # and the uint8 path (rounded per pass) is *not* the same thing, proving the distinction matters
        assert (imresize(hr, 1 / 8) != official).any()


def test_hand_derived_upscale_weights():
    """x2 up of 4 samples, first output: u = 0.75, taps at distances 1.75, 0.75, 0.25, 1.25.

    Keys' cubic (a = -0.5) gives -0.0234375, 0.2265625, 0.8671875, -0.0703125; mirroring folds
    indices 0 and -1 onto samples 1 and 2, so out[0] = 1.09375 * in[0] - 0.09375 * in[1].
    """
    weights, indices = contributions(4, 8, 2.0, "bicubic")
    signal = np.array([10.0, 50.0, 20.0, 90.0])
    out = imresize(np.tile(signal[:, None], (1, 3)), size=(8, 3))
    assert out[0, 0] == pytest.approx(1.09375 * 10 - 0.09375 * 50, abs=1e-12)
    assert out[0, 0] == pytest.approx(6.25, abs=1e-12)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-12)
    assert indices.min() >= 0 and indices.max() <= 3


def test_downscale_kernel_is_antialiased():
    """x1/4 bicubic reads ceil(4/0.25)+2 = 18 taps (16 non-zero) per output, not 4."""
    weights, _ = contributions(64, 16, 0.25, "bicubic")
    assert weights.shape[1] in (16, 17, 18)
    assert (weights[5] != 0).sum() >= 15
    weights_nearest, _ = contributions(64, 16, 0.25, "nearest")
    assert ((weights_nearest != 0).sum(axis=1) == 1).all()


def test_output_size_is_matlab_ceil():
    assert output_size((10, 10), 0.3) == (3, 3)
    assert output_size((255, 256), 1 / 3) == (85, 86)
    assert output_size((7, 5), 2.5) == (18, 13)
    assert imresize(np.zeros((10, 7)), 0.3).shape == (3, 3)


def test_constant_image_stays_constant_and_uint8_is_saturated(rng):
    flat = np.full((13, 17, 3), 200, np.uint8)
    for scale in (0.5, 1 / 3, 2, 3.5):
        assert (imresize(flat, scale) == 200).all()
    # ringing beyond 255 must saturate, not wrap around
    edge = np.zeros((8, 8), np.uint8)
    edge[:, 4:] = 255
    up = imresize(edge, 4)
    assert up.dtype == np.uint8 and up.max() == 255 and up.min() == 0


@pytest.mark.parametrize("scale,size", [(0.37, None), (2.6, None), (None, (11, 29)), (1 / 3, None)])
def test_torch_matches_numpy_float64(rng, scale, size):
    image = rng.random((23, 31, 2))
    expected = imresize(image, scale, size=size)
    tensor = torch.from_numpy(image).permute(2, 0, 1)[None]
    ours = imresize_torch(tensor, scale, size=size)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-12)


def test_torch_is_batched_and_float32_close():
    batch = torch.rand(3, 2, 20, 24, dtype=torch.float64)
    out = imresize_torch(batch, 0.5)
    assert out.shape == (3, 2, 10, 12)
    for i in range(3):
        np.testing.assert_allclose(out[i].numpy(), imresize_torch(batch[i], 0.5).numpy(), atol=1e-12)
    out32 = imresize_torch(batch.float(), 0.5)
    assert out32.dtype == torch.float32
    np.testing.assert_allclose(out32.numpy(), out.numpy(), atol=1e-5)


def test_torch_is_differentiable():
    x = torch.rand(1, 1, 6, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: imresize_torch(t, 0.5), (x,))
    assert torch.autograd.gradcheck(lambda t: imresize_torch(t, size=(9, 11)), (x,))


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(DistillsrError, match="exactly one"):
        imresize(np.zeros((4, 4)), 0.5, size=(2, 2))
    with pytest.raises(DistillsrError, match="positive"):
        imresize(np.zeros((4, 4)), -1.0)
    with pytest.raises(DistillsrError, match="method"):
        imresize(np.zeros((4, 4)), 2.0, method="lanczos")
    with pytest.raises(DistillsrError, match="HxW"):
        imresize(np.zeros(4), 2.0)
