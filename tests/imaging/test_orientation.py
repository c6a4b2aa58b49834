"""Tests for distillsr.imaging.orientation: images come out upright, whatever their depth or layout.

The reference for "upright" is Pillow's own :func:`PIL.ImageOps.exif_transpose`, applied to an
image of pixel *indices* carrying the same EXIF block: that gives, for every orientation, where
each output pixel comes from, independently of our NumPy transforms and for any dtype or channel
count. The module docstring says why the reader does not call ``exif_transpose`` itself; the
cases that decided it are pinned at the end of this file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from imaging.image_files import (
    asymmetric_rgb,
    distinct_bytes_u16,
    exif_tiff_block,
    exif_with_orientation,
    make_png16,
    png_bytes,
    png_chunk,
    with_png_chunk_after_header,
)
from PIL import Image, ImageOps

from distillsr.imaging.orientation import apply_orientation, exif_orientation
from distillsr.imaging.read import read_image

HEIGHT, WIDTH = 5, 7  # not square, so a transpose cannot pass for a flip


def _exif_payload(orientation: int) -> bytes:
    """The block as an eXIf chunk holds it: Pillow's EXIF bytes without the 'Exif\\0\\0' prefix."""
    payload = exif_with_orientation(orientation).tobytes()
    return payload[6:] if payload.startswith(b"Exif\x00\x00") else payload


def _source_of_each_pixel(exif_payload: bytes) -> np.ndarray:
    """Flat index of the stored pixel that ``exif_transpose`` puts at each output position."""
    indices = Image.fromarray(np.arange(HEIGHT * WIDTH, dtype=np.int32).reshape(HEIGHT, WIDTH))
    indices.info["exif"] = b"Exif\x00\x00" + exif_payload
    return np.asarray(ImageOps.exif_transpose(indices))


def _upright(stored: np.ndarray, exif_payload: bytes) -> np.ndarray:
    flat = stored.reshape(HEIGHT * WIDTH, *stored.shape[2:])
    return flat[_source_of_each_pixel(exif_payload)]


def _rgb8() -> tuple[bytes, np.ndarray]:
    pixels = asymmetric_rgb(HEIGHT, WIDTH)
    return png_bytes(pixels), pixels


def _grey8() -> tuple[bytes, np.ndarray]:
    pixels = asymmetric_rgb(HEIGHT, WIDTH)[..., 1].copy()
    return png_bytes(pixels), pixels


def _rgb16() -> tuple[bytes, np.ndarray]:
    pixels = distinct_bytes_u16((HEIGHT, WIDTH, 3), seed=21)
    return make_png16(pixels), pixels


def _grey_alpha16() -> tuple[bytes, np.ndarray]:
    stored = distinct_bytes_u16((HEIGHT, WIDTH, 2), seed=22)
    grey, alpha = stored[..., 0], stored[..., 1]
    return make_png16(stored), np.stack([grey, grey, grey, alpha], axis=-1)


KINDS = {"rgb8": _rgb8, "grey8": _grey8, "rgb16": _rgb16, "grey-alpha16": _grey_alpha16}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_of_every_layout_matches_exif_transpose(
    tmp_path: Path, orientation: int, kind: str
) -> None:
    png, decoded = KINDS[kind]()
    payload = _exif_payload(orientation)
    path = tmp_path / f"{kind}.png"
    path.write_bytes(with_png_chunk_after_header(png, png_chunk(b"eXIf", payload)))
    result = read_image(path)
    assert result.dtype == decoded.dtype
    assert result.flags.c_contiguous
    np.testing.assert_array_equal(result, _upright(decoded, payload))


@pytest.mark.parametrize(("orientation", "turns"), [(3, 2), (6, -1), (8, 1)])
def test_exif_rotation_matches_numpy_rot90(tmp_path: Path, orientation: int, turns: int) -> None:
    array = asymmetric_rgb()
    Image.fromarray(array).save(tmp_path / "r.png", exif=exif_with_orientation(orientation))
    np.testing.assert_array_equal(read_image(tmp_path / "r.png"), np.rot90(array, turns))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillow(tmp_path: Path, orientation: int) -> None:
    array = asymmetric_rgb()
    Image.fromarray(array).save(tmp_path / "o.png", exif=exif_with_orientation(orientation))
    with Image.open(tmp_path / "o.png") as image:
        expected = np.asarray(ImageOps.exif_transpose(image))
    result = read_image(tmp_path / "o.png")
    np.testing.assert_array_equal(result, expected)
    assert result.flags.c_contiguous


def test_exif_rotation_in_jpeg(tmp_path: Path) -> None:
    array = np.zeros((16, 32, 3), dtype=np.uint8)
    array[:8, :8] = 255  # a white block in the top-left corner
    Image.fromarray(array).save(tmp_path / "r.jpg", exif=exif_with_orientation(6), quality=95)
    result = read_image(tmp_path / "r.jpg")
    assert result.shape == (32, 16, 3)
    # Rotating 90 degrees clockwise moves the top-left corner to the top-right.
    assert result[:8, -8:].mean() > 200 and result[:8, :8].mean() < 50


def test_exif_rotation_applies_to_16bit_colour_png(tmp_path: Path) -> None:
    pixels = distinct_bytes_u16((4, 6, 3), seed=11)
    path = tmp_path / "r16.png"
    path.write_bytes(make_png16(pixels, extra_chunks=png_chunk(b"eXIf", _exif_payload(6))))
    result = read_image(path)
    assert result.dtype == np.uint16
    np.testing.assert_array_equal(result, np.rot90(pixels, -1))


_XMP_ORIENTATION_6 = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>'
)


@pytest.mark.parametrize("kind", ["rgb8", "rgb16"])
def test_xmp_only_orientation_is_honoured(tmp_path: Path, kind: str) -> None:
    png, decoded = KINDS[kind]()
    itxt = png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + _XMP_ORIENTATION_6)
    (tmp_path / "x.png").write_bytes(with_png_chunk_after_header(png, itxt))
    np.testing.assert_array_equal(read_image(tmp_path / "x.png"), np.rot90(decoded, -1))


# --------------------------------------------------------------------------------------------------
# Metadata that is not a usable orientation: the image is read as stored, never refused
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rgb8", "rgb16"])
def test_corrupt_exif_does_not_make_a_good_image_unreadable(tmp_path: Path, kind: str) -> None:
    png, decoded = KINDS[kind]()
    garbage = png_chunk(b"eXIf", b"\x00garbage" * 5)
    (tmp_path / "x.png").write_bytes(with_png_chunk_after_header(png, garbage))
    np.testing.assert_array_equal(read_image(tmp_path / "x.png"), decoded)


@pytest.mark.parametrize(
    ("orientation", "tag_type"),
    [(0, 3), (9, 3), (65535, 3), (6, 2), (6, 7), (6, 5)],
    ids=["zero", "nine", "65535", "ascii-6", "undefined-6", "rational-6"],
)
def test_values_that_are_not_an_orientation_leave_the_image_as_stored(
    tmp_path: Path, orientation: int, tag_type: int
) -> None:
    png, decoded = _rgb8()
    block = exif_tiff_block(orientation, tag_type=tag_type)
    (tmp_path / "x.png").write_bytes(with_png_chunk_after_header(png, png_chunk(b"eXIf", block)))
    np.testing.assert_array_equal(read_image(tmp_path / "x.png"), decoded)


def test_orientation_stored_as_long_is_still_an_integer(tmp_path: Path) -> None:
    png, decoded = _rgb8()
    block = exif_tiff_block(6, tag_type=4)
    (tmp_path / "x.png").write_bytes(with_png_chunk_after_header(png, png_chunk(b"eXIf", block)))
    np.testing.assert_array_equal(read_image(tmp_path / "x.png"), np.rot90(decoded, -1))


# --------------------------------------------------------------------------------------------------
# Why not ImageOps.exif_transpose: a readable orientation in a block Pillow cannot write back
# --------------------------------------------------------------------------------------------------


def _file_with_unwritable_exif(tmp_path: Path, suffix: str) -> tuple[Path, np.ndarray]:
    pixels = asymmetric_rgb(HEIGHT, WIDTH)
    block = exif_tiff_block(6, empty_gps_version=True)
    path = tmp_path / f"gps{suffix}"
    if suffix == ".png":
        path.write_bytes(with_png_chunk_after_header(png_bytes(pixels), png_chunk(b"eXIf", block)))
    else:
        Image.fromarray(pixels).save(path, exif=b"Exif\x00\x00" + block, quality=95)
    return path, pixels


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_orientation_is_applied_even_when_the_exif_block_cannot_be_rewritten(
    tmp_path: Path, suffix: str
) -> None:
    path, pixels = _file_with_unwritable_exif(tmp_path, suffix)
    result = read_image(path)
    assert result.shape == (WIDTH, HEIGHT, 3)
    if suffix == ".png":
        np.testing.assert_array_equal(result, np.rot90(pixels, -1))


def test_exif_transpose_fails_on_that_block_which_is_why_it_is_not_used(tmp_path: Path) -> None:
    """Evidence for the choice in distillsr.imaging.orientation (Pillow 13).

    If a Pillow upgrade makes this test fail, ``exif_transpose`` no longer raises here: the
    decision may be revisited, but nothing in distillsr is broken.
    """
    path, _ = _file_with_unwritable_exif(tmp_path, ".png")
    with Image.open(path) as image:
        assert image.getexif()[0x0112] == 6  # the orientation itself reads fine
        with pytest.raises(TypeError):
            ImageOps.exif_transpose(image)


# --------------------------------------------------------------------------------------------------
# The two functions on their own
# --------------------------------------------------------------------------------------------------


def test_exif_orientation_is_1_without_metadata() -> None:
    assert exif_orientation(Image.new("RGB", (3, 2))) == 1


@pytest.mark.parametrize("orientation", range(1, 9))
def test_apply_orientation_treats_every_channel_like_a_grey_plane(orientation: int) -> None:
    stored = distinct_bytes_u16((HEIGHT, WIDTH, 4), seed=orientation)
    result = apply_orientation(stored, orientation)
    for channel in range(4):
        plane = apply_orientation(stored[..., channel], orientation)
        np.testing.assert_array_equal(result[..., channel], plane)
    np.testing.assert_array_equal(result, _upright(stored, _exif_payload(orientation)))
