"""What an output format can hold, and the changes made when it cannot (``imaging/pixel_formats.py``)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from distillsr.imaging.pixel_formats import (
    flatten_alpha,
    format_name,
    holds_16bit,
    holds_alpha,
    to_8bit,
)


@pytest.mark.parametrize(
    ("suffix", "name"),
    [(".jpg", "JPEG"), (".JPEG", "JPEG"), (".tif", "TIFF"), (".TIFF", "TIFF"), (".png", "PNG"), (".webp", "WEBP"),
     (".bmp", "BMP")],
)
def test_format_names_are_what_users_call_them(suffix, name):
    assert format_name(suffix) == name


def test_only_jpeg_and_bmp_lose_alpha():
    assert [s for s in (".png", ".jpg", ".JPEG", ".webp", ".bmp", ".tif") if not holds_alpha(s)] == [".jpg", ".JPEG",
                                                                                                    ".bmp"]


def test_sixteen_bits_fit_png_always_and_tiff_for_grey_only():
    grey, rgb = np.zeros((2, 2), np.uint16), np.zeros((2, 2, 3), np.uint16)
    assert holds_16bit(".PNG", rgb) and holds_16bit(".png", grey)
    assert holds_16bit(".tif", grey) and not holds_16bit(".tiff", rgb)
    assert not holds_16bit(".jpg", grey) and not holds_16bit(".webp", rgb)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_flatten_alpha_is_colour_over_white(dtype):
    top = float(np.iinfo(dtype).max)
    colour = np.array([[[0, top // 2, top]]], dtype)
    layers = [np.dstack([colour, np.full((1, 1, 1), a, dtype)]) for a in (0, top, top // 2)]
    transparent, opaque, half = (flatten_alpha(layer) for layer in layers)
    assert transparent.dtype == dtype and transparent.shape == (1, 1, 3)
    np.testing.assert_array_equal(transparent, np.full((1, 1, 3), top, dtype))
    np.testing.assert_array_equal(opaque, colour)
    coverage = (top // 2) / top
    expected = np.floor(colour.astype(float) * coverage + top * (1 - coverage) + 0.5)
    np.testing.assert_array_equal(half, expected.astype(dtype))


def test_flatten_alpha_keeps_opaque_photo_pixels():
    photo = data.astronaut()[:32, :32]
    rgba = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    np.testing.assert_array_equal(flatten_alpha(rgba), photo)


def test_to_8bit_undoes_widening_and_rounds_to_the_nearest_level():
    eight = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(to_8bit(eight.astype(np.uint16) * 257), eight)
    np.testing.assert_array_equal(to_8bit(np.array([128, 129, 65535], np.uint16)), np.array([0, 1, 255], np.uint8))
    assert to_8bit(np.zeros((2, 2), np.uint16)).dtype == np.uint8
