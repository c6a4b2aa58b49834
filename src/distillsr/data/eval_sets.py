"""Evaluation sets (Set5, Set14, B100, ...) of (HR, LR) image pairs, in the layouts people actually have on disk.

"Benchmark" in distillsr means timing (``benchmarks/``) or comparing models (``distillsr bench``);
the image sets a model is scored on are *evaluation sets*. An evaluation folder is one of:

* a folder of HR images (``Set5/HR``, ``Urban100``) — LR images are made on the fly by a
  degradation after cropping HR to a multiple of the scale, optionally cached on disk;
* a set folder with an HR folder and official LR images, EDSR style (``HR/baby.png`` +
  ``LR_bicubic/X4/babyx4.png``) or BasicSR style (``GTmod12/baby.png`` + ``LRbicx4/baby.png``).
  The stored LR files are used only for the bicubic (BI) degradation they were made with.

HR and LR files must pair up one to one, and each LR image must be exactly ``1/scale`` of the
mod-cropped HR image; anything else is a :class:`~distillsr.errors.DataError` naming the files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from distillsr.data.lr_cache import LRCache
from distillsr.errors import DataError
from distillsr.imaging.degrade import BicubicDown, get_degradation, modcrop
from distillsr.imaging.listing import list_images
from distillsr.imaging.read import read_image

HR_FOLDER_NAMES = ("HR", "GTmod12", "GT", "hr")


def _lr_folder_candidates(scale: int) -> tuple[str, ...]:
    return (f"LR_bicubic/X{scale}", f"LR_bicubic/x{scale}", f"LRbicx{scale}", f"LR/X{scale}", f"LR_bicubic_X{scale}")


@dataclass(frozen=True)
class ImagePair:
    """One benchmark image: its name, its HR file and, when stored, its LR file."""

    name: str
    hr_path: Path
    lr_path: Path | None


@dataclass(frozen=True)
class Sample:
    """A loaded pair: HR cropped to a multiple of the scale, and its LR image (same dtype)."""

    name: str
    hr: np.ndarray
    lr: np.ndarray


def _strip_scale_suffix(stem: str, scale: int) -> str:
    """``babyx4`` / ``baby_x4`` / ``baby_X4`` -> ``baby``; other names are returned unchanged."""
    return re.sub(rf"_?[xX]{scale}$", "", stem)


def describe_names(names: list[str], limit: int = 3) -> str:
    """The first few names and a count of the rest, for one-line error messages."""
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def pair_images(hr_dir: Path, lr_dir: Path, scale: int) -> list[ImagePair]:
    """Match HR and LR files by name, refusing anything that does not pair one to one."""
    hr_files = list_images(hr_dir)
    lr_files = list_images(lr_dir)
    lr_by_stem: dict[str, Path] = {}
    for path in lr_files:
        stem = _strip_scale_suffix(path.stem, scale)
        if stem in lr_by_stem:
            raise DataError(f"LR folder {lr_dir} has two images for {stem!r}: {lr_by_stem[stem].name}, {path.name}")
        lr_by_stem[stem] = path
    pairs = [ImagePair(p.stem, p, lr_by_stem.pop(p.stem, None)) for p in hr_files]
    missing = [p.hr_path.name for p in pairs if p.lr_path is None]
    extra = sorted(path.name for path in lr_by_stem.values())
    if missing or extra:
        problems = []
        if missing:
            problems.append(f"{len(missing)} HR image(s) without LR ({describe_names(missing)})")
        if extra:
            problems.append(f"{len(extra)} LR image(s) without HR ({describe_names(extra)})")
        raise DataError(f"HR folder {hr_dir} and LR folder {lr_dir} do not pair up: {'; '.join(problems)}")
    return pairs


def check_stored_lr(lr: np.ndarray, hr: np.ndarray, pair: ImagePair, scale: int) -> None:
    """A stored LR image must be exactly 1/scale of its mod-cropped HR image, in the same dtype."""
    expected = (hr.shape[0] // scale, hr.shape[1] // scale)
    if lr.shape[:2] != expected:
        raise DataError(
            f"LR image {pair.lr_path} is {lr.shape[0]}x{lr.shape[1]} but HR {pair.hr_path.name} "
            f"cropped to x{scale} needs {expected[0]}x{expected[1]}"
        )
    if lr.dtype != hr.dtype:
        raise DataError(f"LR image {pair.lr_path} is {lr.dtype} but its HR image is {hr.dtype}")


def _find_child(root: Path, names: tuple[str, ...]) -> Path | None:
    for name in names:
        if (root / name).is_dir():
            return root / name
    return None


class EvalSet:
    """The images of one evaluation folder, loaded as :class:`Sample` pairs on demand."""

    def __init__(
        self,
        root: str | Path,
        scale: int,
        degradation=None,
        *,
        cache: LRCache | None = None,
        name: str | None = None,
    ) -> None:
        self.root = Path(root)
        self.scale = scale
        self.degradation = degradation if degradation is not None else BicubicDown(scale)
        if self.degradation.scale != scale:
            raise DataError(f"degradation is for x{self.degradation.scale} but the benchmark is x{scale}")
        self.cache = cache
        if not self.root.exists():
            raise DataError(f"benchmark folder {self.root} does not exist")
        if not self.root.is_dir():
            raise DataError(f"benchmark path {self.root} is not a folder")
        self.hr_dir, self.pairs = self._discover()
        self.name = name or (self.root.parent.name if self.root.name in HR_FOLDER_NAMES else self.root.name)

    def _discover(self) -> tuple[Path, list[ImagePair]]:
        hr_dir = _find_child(self.root, HR_FOLDER_NAMES)
        if hr_dir is not None and isinstance(self.degradation, BicubicDown):
            lr_dir = _find_child(self.root, _lr_folder_candidates(self.scale))
            if lr_dir is not None:
                return hr_dir, pair_images(hr_dir, lr_dir, self.scale)
        hr_dir = hr_dir or self.root
        files = list_images(hr_dir)
        if not files:
            raise DataError(f"no images found in {hr_dir}")
        return hr_dir, [ImagePair(p.stem, p, None) for p in files]

    @property
    def uses_stored_lr(self) -> bool:
        return any(p.lr_path is not None for p in self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> Sample:
        pair = self.pairs[index]
        hr = read_image(pair.hr_path)
        if min(hr.shape[:2]) < self.scale:
            raise DataError(
                f"HR image {pair.hr_path} is {hr.shape[0]}x{hr.shape[1]} pixels, smaller than the scale {self.scale}; "
                "it cannot be a benchmark image at this scale"
            )
        hr = modcrop(hr, self.scale)
        if pair.lr_path is None:
            lr = self.cache.get_or_make(hr, self.degradation) if self.cache else self.degradation(hr)
        else:
            lr = read_image(pair.lr_path)
            check_stored_lr(lr, hr, pair, self.scale)
        return Sample(pair.name, hr, lr)

    def __iter__(self):
        return (self[i] for i in range(len(self)))


def eval_sets(
    folders: Sequence[str | Path],
    scale: int,
    *,
    degradation: str = "BI",
    seed: int = 0,
    cache_dir: str | Path | None = None,
    cache: bool = True,
) -> list[EvalSet]:
    """Folders as ``eval`` reads them (``eval``, ``eval --dynamic`` and ``calibrate`` alike): stored LR
    for BI where a set folder has it, else LR made by ``degradation`` and cached."""
    making = get_degradation(degradation, scale, seed=seed)
    lr_cache = LRCache(cache_dir) if cache else None
    return [EvalSet(Path(folder), scale, making, cache=lr_cache) for folder in folders]

