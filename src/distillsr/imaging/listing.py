"""Which files in a folder are images: the suffixes distillsr reads, and a deterministic listing."""

from __future__ import annotations

import os
from pathlib import Path

from distillsr.errors import DataError

__all__ = ["IMAGE_SUFFIXES", "list_images"]

IMAGE_SUFFIXES: tuple[str, ...] = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".tif",
    ".tiff",
    ".webp",
    ".ppm",
    ".pgm",
)


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name, for deterministic dataset order.

    Hidden files (name starting with '.') are skipped: they are OS metadata such as macOS
    '._x.png' or in-progress temporary files from :func:`~distillsr.imaging.write.write_image`,
    never real images.
    """
    folder = Path(folder)
    if not folder.exists():
        raise DataError(f"image folder '{folder}' does not exist")
    if not folder.is_dir():
        raise DataError(f"image folder '{folder}' is not a directory")
    images = [entry for entry in folder.iterdir() if _is_listed_image(entry)]
    return sorted(images, key=lambda entry: entry.name)


def _is_listed_image(entry: Path) -> bool:
    """Case-insensitive suffix match, so 'IMG.PNG' from cameras and Windows tools is included."""
    return (
        not entry.name.startswith(".")
        and entry.suffix.lower() in IMAGE_SUFFIXES
        and entry.is_file()
    )
