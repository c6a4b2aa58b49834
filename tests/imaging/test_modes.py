"""Tests for distillsr.imaging.modes: every Pillow mode lands on grey, RGB or RGBA, 8 or 16 bits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from imaging.image_files import distinct_bytes_u16, palette_image
from PIL import Image

from distillsr.errors import ImageReadError
from distillsr.imaging.modes import UnsupportedLayoutError, normalise_mode
from distillsr.imaging.read import read_image


def test_palette_png_becomes_rgb(tmp_path: Path) -> None:
    image, indices, palette = palette_image()
    image.save(tmp_path / "p.png")
    result = read_image(tmp_path / "p.png")
    assert result.shape == (2, 3, 3) and result.dtype == np.uint8
    np.testing.assert_array_equal(result, palette[indices])


def test_palette_png_with_transparency_becomes_rgba(tmp_path: Path) -> None:
    image, indices, palette = palette_image()
    image.save(tmp_path / "p.png", transparency=1)
    result = read_image(tmp_path / "p.png")
    assert result.shape == (2, 3, 4)
    np.testing.assert_array_equal(result[..., :3], palette[indices])
    np.testing.assert_array_equal(result[..., 3], np.where(indices == 1, 0, 255))


def test_grey_alpha_becomes_rgba_with_grey_replicated(tmp_path: Path) -> None:
    la = np.random.default_rng(9).integers(0, 256, size=(4, 5, 2), dtype=np.uint8)
    image = Image.fromarray(la)
    assert image.mode == "LA"
    image.save(tmp_path / "la.png")
    result = read_image(tmp_path / "la.png")
    assert result.shape == (4, 5, 4) and result.dtype == np.uint8
    np.testing.assert_array_equal(result[..., :3], np.repeat(la[..., :1], 3, axis=-1))
    np.testing.assert_array_equal(result[..., 3], la[..., 1])


@pytest.mark.parametrize("suffix", [".png", ".bmp"])
def test_one_bit_image_becomes_0_and_255(tmp_path: Path, suffix: str) -> None:
    bits = np.array([[True, False, True], [False, False, True]])
    image = Image.fromarray(bits)
    assert image.mode == "1"
    image.save(tmp_path / f"b{suffix}")
    result = read_image(tmp_path / f"b{suffix}")
    assert result.dtype == np.uint8
    np.testing.assert_array_equal(result, np.where(bits, 255, 0))


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    # 16x16 blocks of white, full cyan, full magenta and full black, so JPEG loss stays small.
    cmyk_blocks = [(0, 0, 0, 0), (255, 0, 0, 0), (0, 255, 0, 0), (0, 0, 0, 255)]
    rgb_blocks = [(255, 255, 255), (0, 255, 255), (255, 0, 255), (0, 0, 0)]
    cmyk = np.zeros((16, 64, 4), dtype=np.uint8)
    expected = np.zeros((16, 64, 3), dtype=np.uint8)
    for index, (c_value, rgb) in enumerate(zip(cmyk_blocks, rgb_blocks)):
        cmyk[:, index * 16 : (index + 1) * 16] = c_value
        expected[:, index * 16 : (index + 1) * 16] = rgb
    Image.frombytes("CMYK", (64, 16), cmyk.tobytes()).save(tmp_path / "c.jpg", quality=95)
    with Image.open(tmp_path / "c.jpg") as image:
        assert image.mode == "CMYK"
    result = read_image(tmp_path / "c.jpg")
    assert result.shape == (16, 64, 3) and result.dtype == np.uint8
    assert np.abs(result.astype(int) - expected).max() < 12


def test_sixteen_bit_pgm_becomes_uint16(tmp_path: Path) -> None:
    pixels = distinct_bytes_u16((3, 4), seed=8)
    path = tmp_path / "x.pgm"
    path.write_bytes(b"P5\n4 3\n65535\n" + pixels.astype(">u2").tobytes())
    result = read_image(path)
    assert result.dtype == np.uint16
    np.testing.assert_array_equal(result, pixels)


def test_int32_image_in_uint16_range_becomes_uint16(tmp_path: Path) -> None:
    values = np.array([[0, 1, 65535], [300, 40000, 7]], dtype=np.int32)
    Image.fromarray(values).save(tmp_path / "i.tif")
    result = read_image(tmp_path / "i.tif")
    assert result.dtype == np.uint16
    np.testing.assert_array_equal(result, values)


def test_int32_image_out_of_uint16_range_is_refused(tmp_path: Path) -> None:
    values = np.array([[0, -5], [70000, 1]], dtype=np.int32)
    Image.fromarray(values).save(tmp_path / "i.tif")
    with pytest.raises(ImageReadError, match=r"i\.tif.*outside the 16-bit range"):
        read_image(tmp_path / "i.tif")


def test_float_image_is_refused(tmp_path: Path) -> None:
    Image.fromarray(np.full((2, 2), 0.5, dtype=np.float32)).save(tmp_path / "f.tif")
    with pytest.raises(ImageReadError, match=r"f\.tif.*floating-point"):
        read_image(tmp_path / "f.tif")


def test_layout_errors_carry_only_the_reason() -> None:
    """The reader adds the file name; the mode mapping knows no paths."""
    with pytest.raises(UnsupportedLayoutError, match=r"^32-bit integer image has values -1\.\.3 outside"):
        normalise_mode(Image.fromarray(np.array([[-1, 3]], dtype=np.int32)))
    with pytest.raises(UnsupportedLayoutError, match=r"^32-bit floating-point images are not supported$"):
        normalise_mode(Image.fromarray(np.zeros((1, 2), dtype=np.float32)))


@pytest.mark.parametrize(("mode", "shape"), [("YCbCr", (2, 3, 3)), ("HSV", (2, 3, 3)), ("RGBa", (2, 3, 4))])
def test_other_colour_modes_become_rgb_or_rgba(mode: str, shape: tuple[int, ...]) -> None:
    image = Image.new(mode, (3, 2))
    result = normalise_mode(image)
    assert result.shape == shape and result.dtype == np.uint8
