"""MATLAB rgb2ycbcr/ycbcr2rgb: MATLAB's documented outputs and scikit-image's implementation."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import color as skcolor

from distillsr.errors import DistillsrError
from distillsr.imaging.color import rgb2ycbcr, rgb_to_grey, rgb_to_y, ycbcr2rgb

# What MATLAB's rgb2ycbcr returns for these uint8 colours (studio range, rounded).
MATLAB_UINT8 = {
    (0, 0, 0): (16, 128, 128),
    (255, 255, 255): (235, 128, 128),
    (255, 0, 0): (81, 90, 240),
    (0, 255, 0): (145, 54, 34),
    (0, 0, 255): (41, 240, 110),
}


def test_uint8_matches_matlab_primaries():
    rgb = np.array([list(k) for k in MATLAB_UINT8], np.uint8)[None]
    expected = np.array([list(v) for v in MATLAB_UINT8.values()], np.uint8)[None]
    out = rgb2ycbcr(rgb)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, expected)


def test_float_matches_scikit_image(rng):
    rgb = rng.random((16, 9, 3))
    # scikit-image returns MATLAB's values on the 0-255 scale for float input in [0, 1]
    np.testing.assert_allclose(rgb2ycbcr(rgb) * 255, skcolor.rgb2ycbcr(rgb), atol=1e-10)
    np.testing.assert_allclose(ycbcr2rgb(rgb2ycbcr(rgb)), rgb, atol=1e-12)
    ycc = skcolor.rgb2ycbcr(rgb)
    np.testing.assert_allclose(ycbcr2rgb(ycc / 255), skcolor.ycbcr2rgb(ycc), atol=1e-10)


def test_uint16_is_uint8_scaled_by_257():
    rgb8 = np.array([[[255, 0, 0], [12, 200, 99]]], np.uint8)
    rgb16 = rgb8.astype(np.uint16) * 257
    y16 = rgb2ycbcr(rgb16).astype(np.float64) / 257
    y8 = rgb2ycbcr(rgb8).astype(np.float64)
    assert np.abs(y16 - y8).max() <= 0.5 + 1e-9


def test_integer_round_trip_within_one_level(rng):
    rgb = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    back = ycbcr2rgb(rgb2ycbcr(rgb))
    assert back.dtype == np.uint8
    assert np.abs(back.astype(int) - rgb).max() <= 2


def test_y_channel_is_unrounded_float():
    rgb = np.array([[[10, 20, 30]]], np.uint8)
    expected = 16 + (65.481 * 10 + 128.553 * 20 + 24.966 * 30) / 255
    assert rgb_to_y(rgb)[0, 0] == pytest.approx(expected, abs=1e-12)
    assert rgb_to_grey(np.array([[[100.0, 100.0, 100.0]]]))[0, 0] == pytest.approx(100.0)
    assert rgb_to_grey(np.array([[[255.0, 0.0, 0.0]]]))[0, 0] == pytest.approx(255 * 0.299, abs=0.01)


def test_wrong_channel_count_is_a_clear_error():
    with pytest.raises(DistillsrError, match="3 channels"):
        rgb2ycbcr(np.zeros((4, 4), np.uint8))
    with pytest.raises(DistillsrError, match="int32"):
        rgb2ycbcr(np.zeros((4, 4, 3), np.int32))
