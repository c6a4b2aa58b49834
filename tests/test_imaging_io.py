"""Tests for distillsr.imaging.io.

16-bit PNG and TIFF files are built by hand here (zlib + struct), independently of the module's own
encoder, so that the reader is checked against the file formats rather than against itself.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from support import SHARED_DATA  # noqa: E402  (honours DISTILLSR_SHARED)
from PIL import Image, ImageFile, ImageOps

import distillsr.imaging.io as imio
from distillsr.errors import DistillsrError, ImageReadError
from distillsr.imaging.io import (
    IMAGE_SUFFIXES,
    from_float,
    list_images,
    read_image,
    to_float,
    write_image,
)

SET5_BABY = SHARED_DATA / "Set5" / "HR" / "baby.png"

ADAM7_PASSES = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)
PNG_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}


# --------------------------------------------------------------------------------------------------
# Hand-made file builders (independent of the code under test)
# --------------------------------------------------------------------------------------------------


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(kind + payload))
    return struct.pack(">I", len(payload)) + kind + payload + crc


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _filter_row(kind: int, row: bytes, prior: bytes, bpp: int) -> bytes:
    """Apply one PNG filter type to one row of raw bytes (reference, byte by byte)."""
    out = bytearray()
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prior[i]
        c = prior[i - bpp] if i >= bpp else 0
        predictor = (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]
        out.append((x - predictor) % 256)
    return bytes([kind]) + bytes(out)


def _filtered_scanlines(pixels: np.ndarray, first_filter: int = 0) -> bytes:
    """Serialise big-endian 16-bit rows, cycling through all five filter types."""
    height = pixels.shape[0]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    rows = pixels.astype(">u2").reshape(height, -1).view(np.uint8)
    bpp = 2 * channels
    prior = bytes(rows.shape[1])
    out = b""
    for y in range(height):
        row = rows[y].tobytes()
        out += _filter_row((first_filter + y) % 5, row, prior, bpp)
        prior = row
    return out


def make_png16(pixels: np.ndarray, *, interlaced: bool = False, extra_chunks: bytes = b"") -> bytes:
    """A 16-bit PNG of any colour type, optionally Adam7-interlaced, written by hand."""
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    if interlaced:
        data = b""
        for index, (x0, y0, dx, dy) in enumerate(ADAM7_PASSES):
            sub = pixels[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                data += _filtered_scanlines(sub, first_filter=index)
    else:
        data = _filtered_scanlines(pixels)
    colour_type = PNG_COLOUR_TYPE[channels]
    ihdr = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, int(interlaced))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + extra_chunks
        + _chunk(b"IDAT", zlib.compress(data, 9))
        + _chunk(b"IEND", b"")
    )


def make_tiff16_rgb(pixels: np.ndarray, byte_order: str, *, deflate: bool = False) -> bytes:
    """A single-strip 16-bit RGB TIFF in either byte order, raw or deflated, written by hand.

    Pillow decodes raw strips itself but hands deflated ones to libtiff, a different code path.
    """
    e = "<" if byte_order == "II" else ">"
    height, width, _ = pixels.shape
    image_data = pixels.astype(e + "u2").tobytes()
    if deflate:
        image_data = zlib.compress(image_data)
    entries = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 3, None),  # BitsPerSample -> points at three SHORTs
        (259, 3, 1, 8 if deflate else 1),  # Adobe deflate or none
        (262, 3, 1, 2),  # RGB
        (273, 4, 1, None),  # StripOffsets -> image data
        (277, 3, 1, 3),
        (278, 4, 1, height),
        (279, 4, 1, len(image_data)),
        (284, 3, 1, 1),  # chunky
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    bits_offset = 8 + ifd_size
    data_offset = bits_offset + 6
    ifd = struct.pack(e + "H", len(entries))
    for tag, kind, count, value in entries:
        if tag == 258:
            value = bits_offset
        elif tag == 273:
            value = data_offset
        if kind == 3 and count == 1:
            ifd += struct.pack(e + "HHIHH", tag, kind, count, value, 0)
        else:
            ifd += struct.pack(e + "HHII", tag, kind, count, value)
    ifd += struct.pack(e + "I", 0)
    header = byte_order.encode() + struct.pack(e + "HI", 42, 8)
    return header + ifd + struct.pack(e + "HHH", 16, 16, 16) + image_data


def distinct_bytes_u16(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """16-bit values whose high and low bytes differ, so swapping or dropping a byte shows."""
    rng = np.random.default_rng(seed)
    high = rng.integers(0, 256, size=shape)
    low = (high * 7 + 13 + rng.integers(1, 200, size=shape)) % 256
    low = np.where(low == high, (low + 1) % 256, low)
    return (high * 256 + low).astype(np.uint16)


def asymmetric_rgb(height: int = 6, width: int = 9) -> np.ndarray:
    """No rotation or flip of this image equals another one."""
    return np.arange(height * width * 3, dtype=np.uint8).reshape(height, width, 3)


# --------------------------------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 3), (5, 7, 4)])
def test_png_round_trip_is_exact(tmp_path: Path, shape: tuple[int, ...], dtype: type) -> None:
    rng = np.random.default_rng(1)
    array = rng.integers(0, np.iinfo(dtype).max + 1, size=shape, dtype=dtype)
    path = tmp_path / "x.png"
    write_image(path, array)
    result = read_image(path)
    assert result.dtype == dtype
    assert result.shape == shape
    assert result.flags.c_contiguous
    np.testing.assert_array_equal(result, array)


def test_big_endian_uint16_array_is_written_correctly(tmp_path: Path) -> None:
    array = distinct_bytes_u16((3, 4, 3))
    write_image(tmp_path / "x.png", array.astype(">u2"))
    result = read_image(tmp_path / "x.png")
    assert result.dtype == np.uint16
    np.testing.assert_array_equal(result, array)
    np.testing.assert_allclose(to_float(array.astype(">u2")), array / 65535)


def test_png_single_channel_axis_is_written_as_grey(tmp_path: Path) -> None:
    array = np.arange(35, dtype=np.uint8).reshape(5, 7, 1)
    write_image(tmp_path / "g.png", array)
    with Image.open(tmp_path / "g.png") as image:
        assert image.mode == "L"
    np.testing.assert_array_equal(read_image(tmp_path / "g.png"), array[:, :, 0])


def test_sixteen_bit_png_is_really_sixteen_bit_on_disk(tmp_path: Path) -> None:
    array = distinct_bytes_u16((4, 5, 3))
    write_image(tmp_path / "x.png", array)
    raw = (tmp_path / "x.png").read_bytes()
    bit_depth, colour_type = raw[24], raw[25]
    assert (bit_depth, colour_type) == (16, 2)


@pytest.mark.parametrize("suffix", [".bmp", ".tif", ".tiff"])
@pytest.mark.parametrize("shape", [(6, 8), (6, 8, 3)])
def test_lossless_formats_round_trip_uint8(
    tmp_path: Path, suffix: str, shape: tuple[int, ...]
) -> None:
    array = np.random.default_rng(2).integers(0, 256, size=shape, dtype=np.uint8)
    write_image(tmp_path / f"x{suffix}", array)
    np.testing.assert_array_equal(read_image(tmp_path / f"x{suffix}"), array)


def test_tiff_round_trip_uint16_grey(tmp_path: Path) -> None:
    array = distinct_bytes_u16((6, 8))
    write_image(tmp_path / "x.tif", array)
    result = read_image(tmp_path / "x.tif")
    assert result.dtype == np.uint16
    np.testing.assert_array_equal(result, array)


def _smooth_rgb(height: int = 32, width: int = 48) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 5, y * 7, (x + y) * 3], axis=-1).astype(np.uint8)


@pytest.mark.parametrize("suffix", [".jpg", ".jpeg", ".webp"])
def test_lossy_round_trip_is_close(tmp_path: Path, suffix: str) -> None:
    array = _smooth_rgb()
    write_image(tmp_path / f"x{suffix}", array, quality=95)
    result = read_image(tmp_path / f"x{suffix}")
    assert result.shape == array.shape and result.dtype == np.uint8
    assert np.abs(result.astype(int) - array).mean() < 3.0


def test_quality_changes_jpeg_size(tmp_path: Path) -> None:
    array = np.random.default_rng(3).integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    write_image(tmp_path / "low.jpg", array, quality=10)
    write_image(tmp_path / "high.jpg", array, quality=95)
    assert (tmp_path / "low.jpg").stat().st_size < (tmp_path / "high.jpg").stat().st_size


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_icc_profile_is_embedded_in_png(tmp_path: Path, dtype: type) -> None:
    profile = b"not a real profile but Pillow keeps the bytes" * 3
    write_image(tmp_path / "x.png", np.zeros((3, 4, 3), dtype=dtype), icc_profile=profile)
    with Image.open(tmp_path / "x.png") as image:
        assert image.info.get("icc_profile") == profile


def test_write_creates_parent_directories(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "x.png"
    write_image(target, np.full((2, 3), 7, dtype=np.uint8))
    np.testing.assert_array_equal(read_image(target), np.full((2, 3), 7, dtype=np.uint8))


def test_write_accepts_non_contiguous_arrays(tmp_path: Path) -> None:
    array = np.random.default_rng(4).integers(0, 65536, size=(6, 8, 3), dtype=np.uint16)
    view = array[:, ::-2]
    write_image(tmp_path / "x.png", view)
    np.testing.assert_array_equal(read_image(tmp_path / "x.png"), view)


# --------------------------------------------------------------------------------------------------
# Hand-made 16-bit files
# --------------------------------------------------------------------------------------------------


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


def test_sixteen_bit_pgm_becomes_uint16(tmp_path: Path) -> None:
    pixels = distinct_bytes_u16((3, 4), seed=8)
    path = tmp_path / "x.pgm"
    path.write_bytes(b"P5\n4 3\n65535\n" + pixels.astype(">u2").tobytes())
    result = read_image(path)
    assert result.dtype == np.uint16
    np.testing.assert_array_equal(result, pixels)


# --------------------------------------------------------------------------------------------------
# Pillow modes
# --------------------------------------------------------------------------------------------------


def _palette_image() -> tuple[Image.Image, np.ndarray, np.ndarray]:
    indices = np.array([[0, 1, 2], [2, 1, 0]], dtype=np.uint8)
    palette = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]], dtype=np.uint8)
    image = Image.frombytes("P", (3, 2), indices.tobytes())
    image.putpalette(palette.flatten().tolist())
    return image, indices, palette


def test_palette_png_becomes_rgb(tmp_path: Path) -> None:
    image, indices, palette = _palette_image()
    image.save(tmp_path / "p.png")
    result = read_image(tmp_path / "p.png")
    assert result.shape == (2, 3, 3) and result.dtype == np.uint8
    np.testing.assert_array_equal(result, palette[indices])


def test_palette_png_with_transparency_becomes_rgba(tmp_path: Path) -> None:
    image, indices, palette = _palette_image()
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


# --------------------------------------------------------------------------------------------------
# EXIF orientation
# --------------------------------------------------------------------------------------------------


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


@pytest.mark.parametrize(("orientation", "turns"), [(3, 2), (6, -1), (8, 1)])
def test_exif_rotation_matches_numpy_rot90(tmp_path: Path, orientation: int, turns: int) -> None:
    array = asymmetric_rgb()
    Image.fromarray(array).save(tmp_path / "r.png", exif=_exif(orientation))
    np.testing.assert_array_equal(read_image(tmp_path / "r.png"), np.rot90(array, turns))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillow(tmp_path: Path, orientation: int) -> None:
    array = asymmetric_rgb()
    Image.fromarray(array).save(tmp_path / "o.png", exif=_exif(orientation))
    with Image.open(tmp_path / "o.png") as image:
        expected = np.asarray(ImageOps.exif_transpose(image))
    result = read_image(tmp_path / "o.png")
    np.testing.assert_array_equal(result, expected)
    assert result.flags.c_contiguous


def test_exif_rotation_in_jpeg(tmp_path: Path) -> None:
    array = np.zeros((16, 32, 3), dtype=np.uint8)
    array[:8, :8] = 255  # a white block in the top-left corner
    Image.fromarray(array).save(tmp_path / "r.jpg", exif=_exif(6), quality=95)
    result = read_image(tmp_path / "r.jpg")
    assert result.shape == (32, 16, 3)
    # Rotating 90 degrees clockwise moves the top-left corner to the top-right.
    assert result[:8, -8:].mean() > 200 and result[:8, :8].mean() < 50


def test_exif_rotation_applies_to_16bit_colour_png(tmp_path: Path) -> None:
    pixels = distinct_bytes_u16((4, 6, 3), seed=11)
    exif_payload = _exif(6).tobytes()
    if exif_payload.startswith(b"Exif\x00\x00"):
        exif_payload = exif_payload[6:]
    path = tmp_path / "r16.png"
    path.write_bytes(make_png16(pixels, extra_chunks=_chunk(b"eXIf", exif_payload)))
    result = read_image(path)
    assert result.dtype == np.uint16
    np.testing.assert_array_equal(result, np.rot90(pixels, -1))


# --------------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------------


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
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b""))
        + _chunk(b"IEND", b"")
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


# --------------------------------------------------------------------------------------------------
# Write refusals and atomicity
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".jpg", ".webp", ".bmp"])
def test_16bit_to_8bit_only_format_is_refused(tmp_path: Path, suffix: str) -> None:
    with pytest.raises(DistillsrError, match="16-bit"):
        write_image(tmp_path / f"x{suffix}", np.zeros((2, 2, 3), dtype=np.uint16))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.bool_])
def test_unsupported_dtype_is_refused(tmp_path: Path, dtype: type) -> None:
    with pytest.raises(DistillsrError, match="dtype"):
        write_image(tmp_path / "x.png", np.zeros((2, 2), dtype=dtype))
    assert list(tmp_path.iterdir()) == []


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DistillsrError, match="suffix"):
        write_image(tmp_path / "x.gifx", np.zeros((2, 2), dtype=np.uint8))


@pytest.mark.parametrize("shape", [(2, 2, 2), (2, 2, 5), (2,), (0, 3, 3)])
def test_bad_shape_is_refused(tmp_path: Path, shape: tuple[int, ...]) -> None:
    with pytest.raises(DistillsrError):
        write_image(tmp_path / "x.png", np.zeros(shape, dtype=np.uint8))


def test_alpha_to_jpeg_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DistillsrError, match="alpha"):
        write_image(tmp_path / "x.jpg", np.zeros((2, 2, 4), dtype=np.uint8))


@pytest.mark.parametrize("quality", [0, 101, 50.5, True])
def test_bad_quality_is_refused(tmp_path: Path, quality: object) -> None:
    with pytest.raises(DistillsrError, match="quality"):
        write_image(
            tmp_path / "x.jpg",
            np.zeros((2, 2), dtype=np.uint8),
            quality=quality,  # type: ignore[arg-type]
        )


def _failing_save(self: Image.Image, fp: object, *args: object, **kwargs: object) -> None:
    fp.write(b"partial data")  # type: ignore[attr-defined]
    raise RuntimeError("encoder exploded")


def test_failed_pillow_write_leaves_target_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "x.png"
    target.write_bytes(b"previous contents")
    monkeypatch.setattr(Image.Image, "save", _failing_save)
    with pytest.raises(RuntimeError, match="encoder exploded"):
        write_image(target, np.zeros((2, 2, 3), dtype=np.uint8))
    assert target.read_bytes() == b"previous contents"
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]


def test_failed_16bit_write_leaves_target_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "x.png"
    target.write_bytes(b"previous contents")

    def explode(*args: object, **kwargs: object) -> bytes:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(imio, "encode_png16", explode)
    with pytest.raises(DistillsrError, match=r"x\.png.*No space left"):
        write_image(target, np.zeros((2, 2, 3), dtype=np.uint16))
    assert target.read_bytes() == b"previous contents"
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]


def test_successful_write_replaces_target_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "x.png"
    target.write_bytes(b"previous contents")
    write_image(target, np.ones((2, 2), dtype=np.uint8))
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]
    np.testing.assert_array_equal(read_image(target), np.ones((2, 2), dtype=np.uint8))


def test_written_file_permissions_follow_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        write_image(tmp_path / "x.png", np.ones((2, 2), dtype=np.uint8))
    finally:
        os.umask(previous)
    assert (tmp_path / "x.png").stat().st_mode & 0o777 == 0o644


# --------------------------------------------------------------------------------------------------
# Float conversion
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("dtype", "max_value"), [(np.uint8, 255), (np.uint16, 65535)])
def test_to_float_scales_by_dtype(dtype: type, max_value: int) -> None:
    result = to_float(np.array([0, 1, max_value], dtype=dtype))
    assert result.dtype == np.float64
    np.testing.assert_allclose(result, [0.0, 1.0 / max_value, 1.0])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_float_round_trip_is_exact_for_every_value(dtype: type) -> None:
    values = np.arange(np.iinfo(dtype).max + 1).astype(dtype)
    np.testing.assert_array_equal(from_float(to_float(values), dtype), values)


def test_from_float_clips_and_rounds_half_up() -> None:
    values = np.array([-0.3, 0.0, 0.5 / 255, 2.5 / 255, 1.0, 1.7])
    result = from_float(values, np.uint8)
    assert result.dtype == np.uint8
    # numpy's half-to-even rounding would give 0 and 2 for the two half-way values.
    np.testing.assert_array_equal(result, [0, 0, 1, 3, 255, 255])


def test_from_float_uint16() -> None:
    result = from_float(np.array([0.5, 0.5 / 65535]), np.uint16)
    assert result.dtype == np.uint16
    np.testing.assert_array_equal(result, [32768, 1])


def test_conversion_errors() -> None:
    with pytest.raises(DistillsrError):
        to_float(np.zeros(2, dtype=np.float32))
    with pytest.raises(DistillsrError):
        from_float(np.zeros(2), np.int16)
    with pytest.raises(DistillsrError, match="NaN"):
        from_float(np.array([0.1, np.nan]), np.uint8)


# --------------------------------------------------------------------------------------------------
# Folder listing
# --------------------------------------------------------------------------------------------------


def test_image_suffixes_are_lowercase_with_dot() -> None:
    assert all(s.startswith(".") and s == s.lower() for s in IMAGE_SUFFIXES)
    expected = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
    assert set(IMAGE_SUFFIXES) == expected


def test_list_images_sorted_case_insensitive_non_recursive(tmp_path: Path) -> None:
    for name in ["c.png", "A.JPG", "b.Tiff", "notes.txt", "d.gif", ".hidden.png", "e.pgm"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "inner.png").write_bytes(b"x")
    (tmp_path / "dir.png").mkdir()
    assert [p.name for p in list_images(tmp_path)] == ["A.JPG", "b.Tiff", "c.png", "e.pgm"]
    assert all(p.parent == tmp_path for p in list_images(tmp_path))


def test_list_images_empty_folder(tmp_path: Path) -> None:
    assert list_images(tmp_path) == []


def test_list_images_missing_or_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(DistillsrError, match="does not exist"):
        list_images(tmp_path / "absent")
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(DistillsrError, match="not a directory"):
        list_images(tmp_path / "file.png")


# --------------------------------------------------------------------------------------------------
# Real data
# --------------------------------------------------------------------------------------------------


@pytest.mark.skipif(not SET5_BABY.is_file(), reason=f"Set5 not available at {SET5_BABY}")
def test_reads_set5_baby() -> None:
    image = read_image(SET5_BABY)
    assert image.shape == (512, 512, 3)
    assert image.dtype == np.uint8
    assert image.std() > 10  # a real photograph, not a blank decode


# --------------------------------------------------------------------------------------------------
# read_image_with_info: the same pixels, plus format, mode, a fitting ICC profile and notes
# --------------------------------------------------------------------------------------------------


def _fake_icc(space: bytes) -> bytes:
    """Header-only stand-in for an ICC profile: Pillow stores the bytes, only the space matters here."""
    return bytes(16) + space + bytes(108)


@pytest.mark.parametrize(
    ("name", "save"),
    [
        ("rgb.png", lambda p: Image.fromarray(asymmetric_rgb()).save(p, exif=_exif(6))),
        ("grey.jpg", lambda p: Image.fromarray(asymmetric_rgb()[..., 0]).save(p, quality=90)),
        ("deep.png", lambda p: write_image(p, distinct_bytes_u16((4, 6, 3), seed=5))),
        ("pal.png", lambda p: _palette_image()[0].save(p, transparency=1)),
    ],
)
def test_info_pixels_equal_read_image(tmp_path: Path, name: str, save) -> None:
    save(tmp_path / name)
    decoded = imio.read_image_with_info(tmp_path / name)
    expected = read_image(tmp_path / name)
    np.testing.assert_array_equal(decoded.pixels, expected)
    assert decoded.pixels.dtype == expected.dtype and decoded.pixels.flags.c_contiguous


def test_info_reports_format_mode_and_profile(tmp_path: Path) -> None:
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(asymmetric_rgb()).save(tmp_path / "p.jpg", icc_profile=profile, quality=90)
    decoded = imio.read_image_with_info(tmp_path / "p.jpg")
    assert (decoded.format, decoded.mode, decoded.icc_profile, decoded.notes) == ("JPEG", "RGB", profile, ())


def test_info_has_no_profile_when_the_file_has_none(tmp_path: Path) -> None:
    write_image(tmp_path / "x.png", asymmetric_rgb())
    assert imio.read_image_with_info(tmp_path / "x.png").icc_profile is None


def test_info_profile_of_another_colour_space_is_dropped_with_a_note(tmp_path: Path) -> None:
    Image.fromarray(asymmetric_rgb()).convert("CMYK").save(tmp_path / "c.jpg", icc_profile=_fake_icc(b"CMYK"))
    decoded = imio.read_image_with_info(tmp_path / "c.jpg")
    assert decoded.mode == "CMYK" and decoded.icc_profile is None
    assert decoded.notes == (
        "CMYK image converted to RGB",
        "its CMYK ICC profile was dropped (it does not describe RGB pixels)",
    )


def test_info_grey_profile_is_kept_for_grey_pixels(tmp_path: Path) -> None:
    Image.fromarray(asymmetric_rgb()[..., 1]).save(tmp_path / "g.png", icc_profile=_fake_icc(b"GRAY"))
    decoded = imio.read_image_with_info(tmp_path / "g.png")
    assert decoded.icc_profile == _fake_icc(b"GRAY") and decoded.notes == ()


@pytest.mark.parametrize(
    ("make", "note"),
    [
        (lambda p: _palette_image()[0].save(p), "palette image converted to RGB"),
        (lambda p: _palette_image()[0].save(p, transparency=1), "palette image converted to RGBA"),
        (lambda p: Image.fromarray(np.zeros((3, 4, 2), np.uint8)).save(p), "grey+alpha image converted to RGBA"),
        (lambda p: Image.fromarray(np.eye(4, dtype=bool)).save(p), "1-bit image converted to grey"),
    ],
    ids=["palette", "palette-alpha", "grey-alpha", "1-bit"],
)
def test_info_notes_mode_conversions(tmp_path: Path, make, note: str) -> None:
    make(tmp_path / "m.png")
    assert imio.read_image_with_info(tmp_path / "m.png").notes == (note,)


def test_info_notes_sixteen_bit_grey_alpha(tmp_path: Path) -> None:
    pixels = distinct_bytes_u16((3, 5, 2), seed=2)
    (tmp_path / "la16.png").write_bytes(make_png16(pixels))
    decoded = imio.read_image_with_info(tmp_path / "la16.png")
    assert decoded.mode == "LA" and decoded.notes == ("grey+alpha image converted to 16-bit RGBA",)


def test_info_notes_that_only_the_first_frame_is_read(tmp_path: Path) -> None:
    frames = [Image.fromarray(np.full((4, 4, 3), value, np.uint8)) for value in (0, 128, 255)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    decoded = imio.read_image_with_info(tmp_path / "a.gif")
    assert "3 frames: only the first was read" in decoded.notes
    assert decoded.pixels.shape == (4, 4, 3) and decoded.pixels.max() == 0


def test_info_read_errors_are_the_same_as_read_image(tmp_path: Path) -> None:
    (tmp_path / "t.png").write_bytes(_valid_png_bytes(tmp_path)[:40])
    with pytest.raises(ImageReadError, match=r"cannot read image '.*t\.png'"):
        imio.read_image_with_info(tmp_path / "t.png")
    with pytest.raises(ImageReadError, match="does not exist"):
        imio.read_image_with_info(tmp_path / "missing.png")
