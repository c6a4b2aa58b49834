"""Tests for distillsr.imaging.write: exact round trips, refusals before any file exists, atomicity."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from imaging.image_files import distinct_bytes_u16
from PIL import Image

import distillsr.imaging.write as write_module
from distillsr.errors import DistillsrError
from distillsr.imaging.pixels import to_float
from distillsr.imaging.read import read_image
from distillsr.imaging.write import write_image

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
# Refusals (before any file is created) and atomicity
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".jpg", ".webp", ".bmp"])
def test_16bit_to_8bit_only_format_is_refused(tmp_path: Path, suffix: str) -> None:
    with pytest.raises(DistillsrError, match="16-bit"):
        write_image(tmp_path / f"x{suffix}", np.zeros((2, 2, 3), dtype=np.uint16))
    assert list(tmp_path.iterdir()) == []


def test_16bit_colour_tiff_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DistillsrError, match=r"16-bit RGBA data cannot be written as TIFF"):
        write_image(tmp_path / "x.tif", np.zeros((2, 2, 4), dtype=np.uint16))
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

    monkeypatch.setattr(write_module, "encode_png16", explode)
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


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_compression_trades_size_for_time_never_pixels(tmp_path, dtype):
    rng = np.random.default_rng(0)
    smooth = np.cumsum(rng.integers(0, 3, (64, 96, 3)), axis=1).astype(dtype)  # compressible, like an image
    sizes = {}
    for level in (0, 1, 9):
        path = tmp_path / f"level{level}.png"
        write_image(path, smooth, png_compression=level)
        sizes[level] = path.stat().st_size
        assert np.array_equal(read_image(path), smooth)
    assert sizes[0] > sizes[1] >= sizes[9]
    for bad in (-1, 10, 1.5, True):
        with pytest.raises(DistillsrError, match="PNG compression must be an integer from 0 to 9"):
            write_image(tmp_path / "bad.png", smooth, png_compression=bad)
    assert not (tmp_path / "bad.png").exists()
