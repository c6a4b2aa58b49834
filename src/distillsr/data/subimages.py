"""Cut large training images into overlapping sub-images once, so training reads small files.

Decoding a 2K DIV2K PNG to take one 192x192 patch wastes most of the time of a CPU data loader;
BasicSR's ``extract_subimages.py`` therefore crops every image into ``crop x crop`` tiles every
``step`` pixels (480/240 for DIV2K HR, 120/60 for its x4 LR images) and trains on those. This
module does the same:

* positions along each axis are ``0, step, 2*step, ...`` while a full crop fits, plus one last
  crop flush with the far edge when more than ``thresh`` pixels would otherwise be left out;
  an axis shorter than ``crop`` gives a single tile as long as the axis;
* tiles are named ``<stem>_s001.png``, ``<stem>_s002.png``, ... in row-major order, written
  atomically as lossless PNG (16-bit kept); ``strip_scale`` removes a trailing ``x4`` from LR
  stems so LR tiles pair by name with the HR tiles;
* it is idempotent: an image whose tiles all exist is not even decoded, and a settings file in the
  output folder refuses a second run with different settings (mixed tiles would pair wrongly).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from distillsr.atomic import atomic_write_text
from distillsr.data.eval_sets import _strip_scale_suffix
from distillsr.errors import DistillsrError
from distillsr.imaging.listing import list_images
from distillsr.imaging.read import read_image
from distillsr.imaging.write import write_image

SETTINGS_FILE = ".subimages.json"
_SWAPPING_ORIENTATIONS = {5, 6, 7, 8}  # EXIF orientations that exchange width and height


@dataclass(frozen=True)
class SubimageSettings:
    """What decides the tiles; stored beside them so a later run can check it matches."""

    crop: int
    step: int
    thresh: int
    strip_scale: int | None


@dataclass(frozen=True)
class ExtractionSummary:
    """How many source images were seen, and how many tiles were written or already there."""

    images: int
    written: int
    existing: int


def crop_positions(length: int, crop: int, step: int, thresh: int) -> list[int]:
    """Start offsets along one axis (see the module docstring)."""
    if length <= crop:
        return [0]
    positions = list(range(0, length - crop + 1, step))
    if length - (positions[-1] + crop) > thresh:
        positions.append(length - crop)
    return positions


def _upright_size(path: Path) -> tuple[int, int] | None:
    """(height, width) after EXIF rotation, from the header; None when the header is unreadable."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            try:
                orientation = image.getexif().get(0x0112, 1)
            except Exception:  # noqa: BLE001 - bad EXIF counts as no rotation, as read_image does
                orientation = 1
    except Exception:  # noqa: BLE001
        return None
    return (width, height) if orientation in _SWAPPING_ORIENTATIONS else (height, width)


def _tile_names(stem: str, height: int, width: int, settings: SubimageSettings) -> list[tuple[str, int, int]]:
    rows = crop_positions(height, settings.crop, settings.step, settings.thresh)
    cols = crop_positions(width, settings.crop, settings.step, settings.thresh)
    base = _strip_scale_suffix(stem, settings.strip_scale) if settings.strip_scale else stem
    tiles = []
    for y in rows:
        for x in cols:
            tiles.append((f"{base}_s{len(tiles) + 1:03d}.png", y, x))
    return tiles


def _extract_one(path: Path, out_folder: Path, settings: SubimageSettings) -> tuple[int, int]:
    """Write one image's missing tiles; returns (written, already there)."""
    size = _upright_size(path)
    if size is not None:
        planned = _tile_names(path.stem, *size, settings)
        if all((out_folder / name).is_file() for name, _, _ in planned):
            return 0, len(planned)
    image = read_image(path)
    written = existing = 0
    for name, y, x in _tile_names(path.stem, image.shape[0], image.shape[1], settings):
        target = out_folder / name
        if target.is_file():
            existing += 1
            continue
        tile = np.ascontiguousarray(image[y : y + settings.crop, x : x + settings.crop])
        write_image(target, tile)
        written += 1
    return written, existing


def _check_settings(out_folder: Path, settings: SubimageSettings) -> None:
    record = out_folder / SETTINGS_FILE
    wanted = asdict(settings)
    if record.is_file():
        try:
            found = json.loads(record.read_text())
        except (OSError, ValueError):
            found = None
        if found != wanted:
            raise DistillsrError(
                f"{out_folder} holds sub-images made with other settings ({found}); "
                f"use another output folder for {wanted}"
            )
        return
    atomic_write_text(record, json.dumps(wanted, sort_keys=True) + "\n")


def extract_subimages(
    hr_folder: str | os.PathLike[str],
    out_folder: str | os.PathLike[str],
    crop: int = 480,
    step: int = 240,
    thresh: int = 0,
    *,
    strip_scale: int | None = None,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> ExtractionSummary:
    """Crop every image of ``hr_folder`` into tiles under ``out_folder`` (skipping tiles already there).

    ``progress(done, total)`` is called after each source image. ``workers > 1`` spreads images
    over processes (PNG encoding dominates, and is CPU-bound).
    """
    if crop < 1 or step < 1 or thresh < 0:
        raise DistillsrError(f"need crop >= 1, step >= 1 and thresh >= 0, got crop={crop}, step={step}, thresh={thresh}")
    if workers < 1:
        raise DistillsrError(f"workers must be at least 1, got {workers}")
    source, target = Path(hr_folder), Path(out_folder)
    images = list_images(source)
    if not images:
        raise DistillsrError(f"no images found in {source}")
    if target.exists() and target.resolve() == source.resolve():
        raise DistillsrError("the output folder must differ from the input folder")
    settings = SubimageSettings(crop, step, thresh, strip_scale)
    target.mkdir(parents=True, exist_ok=True)
    _check_settings(target, settings)
    written = existing = 0

    def record(done: int, result: tuple[int, int]) -> None:
        nonlocal written, existing
        written += result[0]
        existing += result[1]
        if progress is not None:
            progress(done, len(images))

    if workers == 1:
        for done, path in enumerate(images, start=1):
            record(done, _extract_one(path, target, settings))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = pool.map(_extract_one, images, [target] * len(images), [settings] * len(images))
            for done, result in enumerate(results, start=1):
                record(done, result)
    return ExtractionSummary(images=len(images), written=written, existing=existing)
