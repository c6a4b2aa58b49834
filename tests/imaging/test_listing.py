"""Tests for distillsr.imaging.listing: which files of a folder are images, in which order."""

from __future__ import annotations

from pathlib import Path

import pytest

from distillsr.errors import DataError, DistillsrError
from distillsr.imaging.listing import IMAGE_SUFFIXES, list_images


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


def test_list_images_accepts_a_string_path(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"x")
    assert list_images(str(tmp_path)) == [tmp_path / "a.png"]


def test_list_images_empty_folder(tmp_path: Path) -> None:
    assert list_images(tmp_path) == []


def test_list_images_missing_or_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(DistillsrError, match="does not exist"):
        list_images(tmp_path / "absent")
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(DataError, match="not a directory"):
        list_images(tmp_path / "file.png")
