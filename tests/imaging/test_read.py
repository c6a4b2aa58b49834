"""Tests for distillsr.imaging.read: the read pipeline and its one-line errors naming the file.

Layout, 16-bit and orientation details are tested beside their modules (test_modes, test_decode16,
test_orientation); here: what every read promises, and every way a file can fail to be read.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from imaging.image_files import (
    asymmetric_rgb,
    distinct_bytes_u16,
    exif_with_orientation,
    make_png16,
    palette_image,
    png_chunk,
)
from PIL import Image, ImageFile
from support import SHARED_DATA

from distillsr.errors import ImageReadError
from distillsr.imaging.read import read_image, read_image_with_info
from distillsr.imaging.write import write_image

SET5_BABY = SHARED_DATA / "Set5" / "HR" / "baby.png"


def _assert_read_error(path: Path, fragment: str) -> None:
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    message = str(info.value)
    assert path.name in message
    assert fragment in message
    assert "\n" not in message


def _valid_png_bytes(tmp_path: Path) -> bytes:
    array = np.random.default_rng(12).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    Image.fromarray(array).save(tmp_path / "good.png")
    return (tmp_path / "good.png").read_bytes()


def _valid_jpeg_bytes(tmp_path: Path) -> bytes:
    array = np.random.default_rng(13).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    Image.fromarray(array).save(tmp_path / "good.jpg", quality=90)
    return (tmp_path / "good.jpg").read_bytes()


# --------------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    _assert_read_error(tmp_path / "nothing_here.png", "does not exist")


def test_directory(tmp_path: Path) -> None:
    (tmp_path / "folder.png").mkdir()
    _assert_read_error(tmp_path / "folder.png", "directory")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    _assert_read_error(tmp_path / "empty.png", "empty")


def test_text_file(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("this is not an image\n")
    _assert_read_error(tmp_path / "notes.png", "not a recognised image format")


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("bad.png", b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 10),
        ("bad.jpg", b"\xff\xd8\xff" + b"\x13garbage" * 10),
    ],
)
def test_corrupt_header(tmp_path: Path, name: str, payload: bytes) -> None:
    (tmp_path / name).write_bytes(payload)
    _assert_read_error(tmp_path / name, "corrupt")


def test_truncated_png(tmp_path: Path) -> None:
    data = _valid_png_bytes(tmp_path)
    (tmp_path / "half.png").write_bytes(data[: len(data) // 2])
    _assert_read_error(tmp_path / "half.png", "truncated")


def test_truncated_jpeg(tmp_path: Path) -> None:
    data = _valid_jpeg_bytes(tmp_path)
    (tmp_path / "half.jpg").write_bytes(data[: len(data) // 2])
    _assert_read_error(tmp_path / "half.jpg", "truncated")


@pytest.mark.parametrize("maker", [_valid_png_bytes, _valid_jpeg_bytes])
def test_truncated_file_raises_even_when_pillow_allows_truncation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, maker: object
) -> None:
    data = maker(tmp_path)  # type: ignore[operator]
    (tmp_path / "half.img").write_bytes(data[: len(data) // 2])
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    _assert_read_error(tmp_path / "half.img", "truncated")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored for the rest of the program


def test_truncated_16bit_png(tmp_path: Path) -> None:
    data = make_png16(distinct_bytes_u16((40, 40, 3)))
    (tmp_path / "half16.png").write_bytes(data[: len(data) // 2])
    _assert_read_error(tmp_path / "half16.png", "truncated")


def test_zero_size_png(tmp_path: Path) -> None:
    ihdr = struct.pack(">IIBBBBB", 0, 5, 8, 0, 0, 0, 0)
    payload = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b""))
        + png_chunk(b"IEND", b"")
    )
    (tmp_path / "zero.png").write_bytes(payload)
    _assert_read_error(tmp_path / "zero.png", "zero size")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
# The image has 35 pixels: over twice the limit Pillow raises, over once it only warns.
@pytest.mark.parametrize("limit", [10, 30])
def test_decompression_bomb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    write_image(tmp_path / "big.png", np.zeros((5, 7), dtype=np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
    _assert_read_error(tmp_path / "big.png", "too large")


@pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")
def test_decompression_bomb_warning_raised_as_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_image(tmp_path / "big.png", np.zeros((5, 7), dtype=np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 30)
    _assert_read_error(tmp_path / "big.png", "too large")


def test_layout_refusals_name_the_file(tmp_path: Path) -> None:
    """Reasons from the mode mapping gain the file name, like every other read failure."""
    Image.fromarray(np.zeros((2, 2), dtype=np.float32)).save(tmp_path / "f.tif")
    _assert_read_error(tmp_path / "f.tif", "cannot read image")


# --------------------------------------------------------------------------------------------------
# read_image_with_info: the same pixels and the same failures as read_image
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "save"),
    [
        ("rgb.png", lambda p: Image.fromarray(asymmetric_rgb()).save(p, exif=exif_with_orientation(6))),
        ("grey.jpg", lambda p: Image.fromarray(asymmetric_rgb()[..., 0]).save(p, quality=90)),
        ("deep.png", lambda p: write_image(p, distinct_bytes_u16((4, 6, 3), seed=5))),
        ("pal.png", lambda p: palette_image()[0].save(p, transparency=1)),
    ],
)
def test_info_pixels_equal_read_image(tmp_path: Path, name: str, save) -> None:
    save(tmp_path / name)
    decoded = read_image_with_info(tmp_path / name)
    expected = read_image(tmp_path / name)
    np.testing.assert_array_equal(decoded.pixels, expected)
    assert decoded.pixels.dtype == expected.dtype and decoded.pixels.flags.c_contiguous


def test_info_read_errors_are_the_same_as_read_image(tmp_path: Path) -> None:
    (tmp_path / "t.png").write_bytes(_valid_png_bytes(tmp_path)[:40])
    with pytest.raises(ImageReadError, match=r"cannot read image '.*t\.png'"):
        read_image_with_info(tmp_path / "t.png")
    with pytest.raises(ImageReadError, match="does not exist"):
        read_image_with_info(tmp_path / "missing.png")


# --------------------------------------------------------------------------------------------------
# Real data
# --------------------------------------------------------------------------------------------------


@pytest.mark.skipif(not SET5_BABY.is_file(), reason=f"Set5 not available at {SET5_BABY}")
def test_reads_set5_baby() -> None:
    image = read_image(SET5_BABY)
    assert image.shape == (512, 512, 3)
    assert image.dtype == np.uint8
    assert image.std() > 10  # a real photograph, not a blank decode
