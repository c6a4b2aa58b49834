"""Tests for distillsr.imaging.decode16: 16-bit PNG and TIFF files read with every bit kept.

The files are written by hand (``imaging/image_files.py``), with all five PNG filters, Adam7
interlacing and both TIFF byte orders, so a dropped, swapped or mis-filtered byte shows.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from imaging.image_files import (
    distinct_bytes_u16,
    make_png16,
    make_tiff16_rgb,
    png_bytes,
)
from PIL import Image

from distillsr.imaging.decode16 import is_16bit_grey_alpha, low_byte_rawmodes
from distillsr.imaging.read import read_image


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_hand_made_16bit_png_with_all_filters_reads_exactly(tmp_path: Path, channels: int) -> None:
    shape = (7, 5) if channels == 1 else (7, 5, channels)
    pixels = distinct_bytes_u16(shape, seed=channels)
    path = tmp_path / "hand.png"
    path.write_bytes(make_png16(pixels))
    result = read_image(path)
    assert result.dtype == np.uint16
    np.testing.assert_array_equal(result, pixels)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_hand_made_interlaced_16bit_png_reads_exactly(tmp_path: Path, channels: int) -> None:
    shape = (11, 13) if channels == 1 else (11, 13, channels)
    pixels = distinct_bytes_u16(shape, seed=10 + channels)
    path = tmp_path / "adam7.png"
    path.write_bytes(make_png16(pixels, interlaced=True))
    np.testing.assert_array_equal(read_image(path), pixels)


@pytest.mark.parametrize("interlaced", [False, True])
def test_hand_made_16bit_grey_alpha_becomes_rgba(tmp_path: Path, interlaced: bool) -> None:
    pixels = distinct_bytes_u16((9, 10, 2), seed=5)
    path = tmp_path / "la16.png"
    path.write_bytes(make_png16(pixels, interlaced=interlaced))
    result = read_image(path)
    assert result.dtype == np.uint16 and result.shape == (9, 10, 4)
    for channel in range(3):
        np.testing.assert_array_equal(result[..., channel], pixels[..., 0])
    np.testing.assert_array_equal(result[..., 3], pixels[..., 1])


@pytest.mark.parametrize("deflate", [False, True])
@pytest.mark.parametrize("byte_order", ["II", "MM"])
def test_hand_made_16bit_rgb_tiff_reads_exactly(
    tmp_path: Path, byte_order: str, deflate: bool
) -> None:
    pixels = distinct_bytes_u16((5, 6, 3), seed=7)
    path = tmp_path / "rgb16.tif"
    path.write_bytes(make_tiff16_rgb(pixels, byte_order, deflate=deflate))
    result = read_image(path)
    assert result.dtype == np.uint16
    np.testing.assert_array_equal(result, pixels)


def _opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_only_16bit_colour_gets_a_second_decode() -> None:
    """8-bit colour and 16-bit grey (which Pillow keeps whole) must take the ordinary path."""
    assert low_byte_rawmodes(_opened(make_png16(distinct_bytes_u16((2, 3, 3))))) == ["RGB;16L"]
    assert low_byte_rawmodes(_opened(make_png16(distinct_bytes_u16((2, 3, 4))))) == ["RGBA;16L"]
    assert low_byte_rawmodes(_opened(png_bytes(np.zeros((2, 3, 3), np.uint8)))) is None
    assert low_byte_rawmodes(_opened(make_png16(distinct_bytes_u16((2, 3))))) is None


def test_only_16bit_grey_alpha_is_recognised_as_such() -> None:
    assert is_16bit_grey_alpha(_opened(make_png16(distinct_bytes_u16((2, 3, 2)))))
    assert not is_16bit_grey_alpha(_opened(png_bytes(np.zeros((2, 3, 2), np.uint8))))
    assert not is_16bit_grey_alpha(_opened(make_png16(distinct_bytes_u16((2, 3, 4)))))
