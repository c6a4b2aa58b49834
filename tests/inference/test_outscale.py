"""Output scales other than the model's (``inference/outscale.py``): the model's upscale, then a
MATLAB bicubic resize to ``ceil(outscale * input size)``."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from distillsr import api
from distillsr.imaging.resize import imresize
from distillsr.errors import DistillsrError
from distillsr.inference.outscale import needs_resize, output_scale, output_size, upscale_pixels
from distillsr.inference.upscaler import Upscaler


@pytest.fixture(scope="module")
def bicubic_x4() -> Upscaler:
    return Upscaler(api.resolve_model("bicubic", scale=4), device="cpu", tile=0)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return np.ascontiguousarray(data.astronaut()[100:148, 200:264])  # 48 x 64


@pytest.mark.parametrize(
    ("size", "scale", "expected"),
    [((48, 64), 2.5, (120, 160)), ((10, 10), 0.3, (3, 3)), ((7, 9), 1 / 3, (3, 3)), ((3, 3), 1.1, (4, 4))],
)
def test_output_size_is_matlabs_ceiling_without_float_noise(size, scale, expected):
    assert output_size(*size, scale) == expected


def test_the_models_own_scale_is_returned_as_upscaled(bicubic_x4, photo):
    model_only = bicubic_x4.upscale_array(photo)
    np.testing.assert_array_equal(upscale_pixels(bicubic_x4, photo), model_only)
    np.testing.assert_array_equal(upscale_pixels(bicubic_x4, photo, 4.0), model_only)
    np.testing.assert_array_equal(upscale_pixels(bicubic_x4, photo, 4 + 1e-12), model_only)


@pytest.mark.parametrize(("outscale", "shape"), [(2.0, (96, 128, 3)), (3.0, (144, 192, 3)), (2.5, (120, 160, 3))])
def test_another_scale_resizes_the_models_output_with_matlab_bicubic(bicubic_x4, photo, outscale, shape):
    out = upscale_pixels(bicubic_x4, photo, outscale)
    assert out.shape == shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out, imresize(bicubic_x4.upscale_array(photo), size=shape[:2]))


def test_grey_sixteen_bit_and_alpha_layouts_survive_the_resize(bicubic_x4, photo):
    grey16 = photo[..., 0].astype(np.uint16) * 257
    assert upscale_pixels(bicubic_x4, grey16, 2.0).shape == (96, 128)
    assert upscale_pixels(bicubic_x4, grey16, 2.0).dtype == np.uint16
    rgba = np.dstack([photo, np.full(photo.shape[:2], 200, np.uint8)])
    out = upscale_pixels(bicubic_x4, rgba, 2.0, alpha="bicubic")
    assert out.shape == (96, 128, 4) and int(out[..., 3].min()) == int(out[..., 3].max()) == 200


def test_one_rule_says_whether_the_output_is_resized():
    """The command's note and the pixels both ask :func:`needs_resize` (they once had two tolerances)."""
    assert not needs_resize(4, None) and not needs_resize(4, 4.0) and not needs_resize(4, 4 + 1e-12)
    assert needs_resize(4, 3.0) and needs_resize(4, 4.001)


def test_the_output_scale_is_the_models_unless_asked(bicubic_x4):
    assert output_scale(bicubic_x4.model, None) == 4.0 and output_scale(bicubic_x4.model, 2.5) == 2.5
    with pytest.raises(DistillsrError, match="scale must be a positive number"):
        output_scale(bicubic_x4.model, float("nan"))
