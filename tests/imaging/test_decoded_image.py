"""Tests for distillsr.imaging.decoded_image: format, mode, a fitting ICC profile and notes.

Files go through :func:`read_image_with_info`, so the notes are checked for what a user's file
really produces.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from imaging.image_files import (
    asymmetric_rgb,
    distinct_bytes_u16,
    make_png16,
    palette_image,
)
from PIL import Image

from distillsr.imaging.read import read_image_with_info
from distillsr.imaging.write import write_image


def _fake_icc(space: bytes) -> bytes:
    """Header-only stand-in for an ICC profile: Pillow stores the bytes, only the space matters here."""
    return bytes(16) + space + bytes(108)


def test_info_reports_format_mode_and_profile(tmp_path: Path) -> None:
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(asymmetric_rgb()).save(tmp_path / "p.jpg", icc_profile=profile, quality=90)
    decoded = read_image_with_info(tmp_path / "p.jpg")
    assert (decoded.format, decoded.mode, decoded.icc_profile, decoded.notes) == ("JPEG", "RGB", profile, ())


def test_info_has_no_profile_when_the_file_has_none(tmp_path: Path) -> None:
    write_image(tmp_path / "x.png", asymmetric_rgb())
    assert read_image_with_info(tmp_path / "x.png").icc_profile is None


def test_info_profile_of_another_colour_space_is_dropped_with_a_note(tmp_path: Path) -> None:
    Image.fromarray(asymmetric_rgb()).convert("CMYK").save(tmp_path / "c.jpg", icc_profile=_fake_icc(b"CMYK"))
    decoded = read_image_with_info(tmp_path / "c.jpg")
    assert decoded.mode == "CMYK" and decoded.icc_profile is None
    assert decoded.notes == (
        "CMYK image converted to RGB",
        "its CMYK ICC profile was dropped (it does not describe RGB pixels)",
    )


def test_info_grey_profile_is_kept_for_grey_pixels(tmp_path: Path) -> None:
    Image.fromarray(asymmetric_rgb()[..., 1]).save(tmp_path / "g.png", icc_profile=_fake_icc(b"GRAY"))
    decoded = read_image_with_info(tmp_path / "g.png")
    assert decoded.icc_profile == _fake_icc(b"GRAY") and decoded.notes == ()


def test_info_rgb_profile_on_grey_pixels_is_dropped_with_a_note(tmp_path: Path) -> None:
    Image.fromarray(asymmetric_rgb()[..., 1]).save(tmp_path / "g.png", icc_profile=_fake_icc(b"RGB "))
    decoded = read_image_with_info(tmp_path / "g.png")
    assert decoded.icc_profile is None
    assert decoded.notes == ("its RGB ICC profile was dropped (it does not describe grey pixels)",)


@pytest.mark.parametrize(
    ("make", "note"),
    [
        (lambda p: palette_image()[0].save(p), "palette image converted to RGB"),
        (lambda p: palette_image()[0].save(p, transparency=1), "palette image converted to RGBA"),
        (lambda p: Image.fromarray(np.zeros((3, 4, 2), np.uint8)).save(p), "grey+alpha image converted to RGBA"),
        (lambda p: Image.fromarray(np.eye(4, dtype=bool)).save(p), "1-bit image converted to grey"),
    ],
    ids=["palette", "palette-alpha", "grey-alpha", "1-bit"],
)
def test_info_notes_mode_conversions(tmp_path: Path, make, note: str) -> None:
    make(tmp_path / "m.png")
    assert read_image_with_info(tmp_path / "m.png").notes == (note,)


def test_info_notes_sixteen_bit_grey_alpha(tmp_path: Path) -> None:
    pixels = distinct_bytes_u16((3, 5, 2), seed=2)
    (tmp_path / "la16.png").write_bytes(make_png16(pixels))
    decoded = read_image_with_info(tmp_path / "la16.png")
    assert decoded.mode == "LA" and decoded.notes == ("grey+alpha image converted to 16-bit RGBA",)


def test_info_notes_that_only_the_first_frame_is_read(tmp_path: Path) -> None:
    frames = [Image.fromarray(np.full((4, 4, 3), value, np.uint8)) for value in (0, 128, 255)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    decoded = read_image_with_info(tmp_path / "a.gif")
    assert "3 frames: only the first was read" in decoded.notes
    assert decoded.pixels.shape == (4, 4, 3) and decoded.pixels.max() == 0
