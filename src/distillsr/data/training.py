"""Paired training patches: random aligned LR/HR crops with flips and rotations.

A training set is one or more folders of HR images. The LR image of each HR image is either made
once by a named degradation (``BI``, ``BD``, ``DN``) after cropping HR to a multiple of the scale,
and cached on disk with :class:`~distillsr.data.lr_cache.LRCache`; or read from LR folders paired
by name exactly as benchmark sets are (``0001.png`` with ``0001x4.png``).

Decisions worth knowing about:

* **Determinism.** The crop position and the augmentation of item ``i`` are a pure function of
  ``(seed, epoch, i)``: a fresh :class:`numpy.random.Generator` is derived from them inside
  :meth:`PairedTrainingSet.__getitem__`. Global RNG state, worker ids and the number of workers
  play no part, so resuming mid-epoch and multi-worker loading give identical batches. The loop
  tells the set its epoch with :meth:`PairedTrainingSet.set_epoch` (the loader helpers in
  :mod:`distillsr.data.loader` do it before each epoch's workers start).
* **Alignment.** The HR patch is exactly the LR patch's location times the scale, and the same
  flips and rotation are applied to both.
* **Channels.** Greyscale images are replicated to three channels and RGBA drops its alpha, so
  every batch has three channels whatever the folder mixes. 16-bit images keep their precision
  (values are scaled by 65535 instead of 255).
* **Small images.** An image whose mod-cropped LR is smaller than the LR patch is skipped with one
  warning at construction. Padding was rejected: a network trained on padded borders learns to
  reproduce them, and the image sets where this happens (T91 has a few small images) lose little.
* **Memory.** ``in_memory=True`` decodes every pair once at construction (T91, BSD200: a few
  hundred MB at most, and the fastest CPU training); ``in_memory=False`` reads per item, for sets
  such as DIV2K that do not fit. With made LR images and no cache, per-item reading remakes the LR
  image every time, which is slow: pass an :class:`LRCache`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from distillsr.data.eval_sets import (
    ImagePair,
    check_stored_lr,
    describe_names,
    pair_images,
)
from distillsr.data.lr_cache import LRCache
from distillsr.errors import DataError, DistillsrError
from distillsr.imaging.degrade import Degradation, get_degradation, modcrop
from distillsr.imaging.listing import list_images
from distillsr.imaging.read import read_image
from distillsr.imaging.tensors import image_to_tensor, match_channels

PathLike = str | os.PathLike[str]

_SEED_MASK = 0xFFFF_FFFF_FFFF_FFFF  # SeedSequence wants non-negative entropy; any int seed maps onto it


@dataclass(frozen=True)
class Augment:
    """Which random geometric transforms to apply, each with probability 1/2.

    Together (horizontal flip, vertical flip, 90-degree rotation) reach all eight orientations
    of the square, which is the augmentation EDSR/RCAN/RFDN recipes use.
    """

    hflip: bool = True
    vflip: bool = True
    rot90: bool = True

    @classmethod
    def parse(cls, value: Augment | bool | Sequence[bool]) -> Augment:
        """Accept an :class:`Augment`, a bool (all or nothing) or three booleans."""
        if isinstance(value, Augment):
            return value
        if isinstance(value, (bool, np.bool_)):
            return cls(bool(value), bool(value), bool(value))
        flags = tuple(value)
        if len(flags) != 3 or not all(isinstance(f, (bool, np.bool_)) for f in flags):
            raise DistillsrError(f"augment must be True/False or three booleans (hflip, vflip, rot90), got {value!r}")
        return cls(*(bool(f) for f in flags))


@dataclass(frozen=True)
class PatchParams:
    """Where item ``i`` is cropped (in LR pixels) and how it is transformed, for one epoch."""

    image_index: int
    top: int
    left: int
    hflip: bool
    vflip: bool
    rot90: bool


def _as_folder_list(folders: PathLike | Sequence[PathLike]) -> list[Path]:
    if isinstance(folders, (str, os.PathLike)):
        return [Path(folders)]
    return [Path(f) for f in folders]


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Three channels for every image, so batches never mix layouts (grey copied, alpha dropped)."""
    return np.ascontiguousarray(match_channels(image, 3))


def _transform(image: np.ndarray, params: PatchParams) -> np.ndarray:
    """The same geometric transform for LR and HR; flips and rotation commute with the crop scale."""
    if params.hflip:
        image = image[:, ::-1]
    if params.vflip:
        image = image[::-1]
    if params.rot90:
        image = np.rot90(image, 1, axes=(0, 1))
    return image


def _upright_size(path: Path) -> tuple[int, int]:
    """(height, width) from the header only; orientation does not matter for square patches."""
    try:
        with Image.open(path) as image:
            width, height = image.size
    except Exception:  # noqa: BLE001 - let read_image word the failure
        height, width = read_image(path).shape[:2]
    return height, width


class PairedTrainingSet(Dataset):
    """Random aligned ``{"lr", "hr", "name"}`` patches from HR folders (and optional LR folders).

    ``len(dataset)`` is ``repeat`` times the number of usable images: ``repeat`` lengthens an epoch
    over a small set (what BasicSR calls ``dataset_enlarge_ratio``) and every repeat of an image gets
    its own crop. ``degradation`` (a name or a degradation object) is used only when ``lr_folders``
    is None; stored LR images are taken as they are.
    """

    def __init__(
        self,
        hr_folders: PathLike | Sequence[PathLike],
        scale: int,
        *,
        degradation: str | Degradation = "BI",
        lr_folders: PathLike | Sequence[PathLike] | None = None,
        lr_patch_size: int = 48,
        augment: Augment | bool | Sequence[bool] = (True, True, True),
        cache: LRCache | None = None,
        repeat: int = 1,
        in_memory: bool = True,
        seed: int = 0,
    ) -> None:
        if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
            raise DistillsrError(f"scale must be a positive integer, got {scale!r}")
        if lr_patch_size < 1:
            raise DistillsrError(f"lr_patch_size must be positive, got {lr_patch_size}")
        if repeat < 1:
            raise DistillsrError(f"repeat must be at least 1, got {repeat}")
        self.scale = int(scale)
        self.lr_patch_size = int(lr_patch_size)
        self.augment = Augment.parse(augment)
        self.cache = cache
        self.repeat = int(repeat)
        self.in_memory = in_memory
        self.seed = int(seed)
        self.epoch = 0
        self.degradation = self._resolve_degradation(degradation)
        hr_dirs = _as_folder_list(hr_folders)
        lr_dirs = None if lr_folders is None else _as_folder_list(lr_folders)
        if lr_dirs is not None and len(lr_dirs) != len(hr_dirs):
            raise DistillsrError(f"{len(hr_dirs)} HR folder(s) but {len(lr_dirs)} LR folder(s); give one LR folder per HR folder")
        candidates = self._discover(hr_dirs, lr_dirs)
        self.pairs: list[ImagePair] = []
        self._images: list[tuple[np.ndarray, np.ndarray]] = []
        self._keep_usable(candidates)
        if not in_memory and lr_dirs is None and cache is None:
            warnings.warn(
                "in_memory=False without an LR cache remakes every LR image per item; pass cache=LRCache() to make each once",
                stacklevel=2,
            )

    # ---------------------------------------------------------------------------------- setup --

    def _resolve_degradation(self, degradation: str | Degradation) -> Degradation:
        made = get_degradation(degradation, self.scale) if isinstance(degradation, str) else degradation
        if made.scale != self.scale:
            raise DistillsrError(f"degradation {made.name} is for x{made.scale} but the training set is x{self.scale}")
        return made

    def _discover(self, hr_dirs: list[Path], lr_dirs: list[Path] | None) -> list[ImagePair]:
        pairs: list[ImagePair] = []
        for position, hr_dir in enumerate(hr_dirs):
            if lr_dirs is None:
                files = list_images(hr_dir)
                if not files:
                    raise DataError(f"no images found in {hr_dir}")
                pairs.extend(ImagePair(path.stem, path, None) for path in files)
            else:
                pairs.extend(pair_images(hr_dir, lr_dirs[position], self.scale))
        return pairs

    @property
    def hr_patch_size(self) -> int:
        return self.lr_patch_size * self.scale

    def _keep_usable(self, candidates: list[ImagePair]) -> None:
        """Load (in memory) or size-check (on disk) every pair, skipping those below the patch."""
        too_small: list[str] = []
        for pair in candidates:
            if self.in_memory:
                hr, lr = self._load(pair)
                lr_height, lr_width = lr.shape[:2]
            else:
                height, width = _upright_size(pair.hr_path)
                lr_height, lr_width = height // self.scale, width // self.scale
            if min(lr_height, lr_width) < self.lr_patch_size:
                too_small.append(pair.hr_path.name)
                continue
            self.pairs.append(pair)
            if self.in_memory:
                self._images.append((hr, lr))
        if too_small:
            warnings.warn(
                f"skipping {len(too_small)} image(s) smaller than the {self.hr_patch_size}px HR patch "
                f"(x{self.scale}): {describe_names(too_small)}",
                stacklevel=3,
            )
        if not self.pairs:
            raise DataError(f"no training image is at least {self.hr_patch_size}x{self.hr_patch_size} pixels")

    def _load(self, pair: ImagePair) -> tuple[np.ndarray, np.ndarray]:
        """HR cropped to a multiple of the scale and its LR image, both three-channel integers."""
        hr_full = to_rgb(read_image(pair.hr_path))
        if min(hr_full.shape[:2]) < self.scale:
            return hr_full[:0, :0], hr_full[:0, :0]  # too small for anything; reported as such
        hr = np.ascontiguousarray(modcrop(hr_full, self.scale))
        if pair.lr_path is None:
            lr = self.cache.get_or_make(hr, self.degradation) if self.cache else self.degradation(hr)
            return hr, lr
        lr = to_rgb(read_image(pair.lr_path))
        check_stored_lr(lr, hr, pair, self.scale)
        return hr, lr

    # ------------------------------------------------------------------------------- sampling --

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose crops and flips :meth:`__getitem__` returns."""
        if epoch < 0:
            raise DistillsrError(f"epoch must be non-negative, got {epoch}")
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.pairs) * self.repeat

    def image_pair(self, image_index: int) -> tuple[np.ndarray, np.ndarray]:
        """The full (mod-cropped HR, LR) integer arrays of one image, from memory or disk."""
        if self.in_memory:
            return self._images[image_index]
        return self._load(self.pairs[image_index])

    def patch_params(self, index: int, epoch: int | None = None) -> PatchParams:
        """The crop and transform of item ``index``: a pure function of (seed, epoch, index).

        Needs the image size, so on disk it reads the LR image size from the pair (cheap for
        in-memory sets, one decode otherwise); :meth:`__getitem__` reuses the decoded arrays.
        """
        _, lr = self.image_pair(self._image_index(index))
        return self._params(index, lr.shape[:2], self.epoch if epoch is None else epoch)

    def _image_index(self, index: int) -> int:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for a training set of {len(self)} items")
        return index % len(self.pairs)

    def _params(self, index: int, lr_shape: tuple[int, ...], epoch: int) -> PatchParams:
        rng = np.random.default_rng([self.seed & _SEED_MASK, int(epoch), int(index)])
        patch = self.lr_patch_size
        top = int(rng.integers(0, lr_shape[0] - patch + 1))
        left = int(rng.integers(0, lr_shape[1] - patch + 1))
        coins = rng.random(3) < 0.5  # always drawn, so switching one flag leaves the others' draws alone
        return PatchParams(
            image_index=index % len(self.pairs),
            top=top,
            left=left,
            hflip=bool(coins[0]) and self.augment.hflip,
            vflip=bool(coins[1]) and self.augment.vflip,
            rot90=bool(coins[2]) and self.augment.rot90,
        )

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        index = int(index)
        image_index = self._image_index(index)
        hr, lr = self.image_pair(image_index)
        params = self._params(index, lr.shape[:2], self.epoch)
        p, s = self.lr_patch_size, self.scale
        lr_patch = lr[params.top : params.top + p, params.left : params.left + p]
        hr_patch = hr[params.top * s : (params.top + p) * s, params.left * s : (params.left + p) * s]
        return {
            "lr": image_to_tensor(_transform(lr_patch, params), batch=False),
            "hr": image_to_tensor(_transform(hr_patch, params), batch=False),
            "name": self.pairs[image_index].name,
        }
