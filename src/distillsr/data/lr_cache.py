"""A disk cache of LR images made by a degradation, so a second evaluation does not remake them.

An entry is keyed by the HR image's pixel digest and the degradation's ``cache_key``, so editing an
HR image or changing any degradation parameter can never return a stale LR image. Entries are
lossless PNG files (8 or 16 bit) written atomically; a corrupt entry is treated as missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from distillsr.errors import DistillsrError
from distillsr.imaging.digest import image_digest
from distillsr.imaging.read import read_image
from distillsr.imaging.write import write_image


def default_cache_dir() -> Path:
    """``$DISTILLSR_CACHE_DIR``, else ``$XDG_CACHE_HOME/distillsr``, else ``~/.cache/distillsr``."""
    explicit = os.environ.get("DISTILLSR_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "distillsr"


class LRCache:
    """Get-or-make LR images under ``root/lr/<degradation>/<digest>.png``."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self.hits = 0
        self.misses = 0

    def path_for(self, hr: np.ndarray, cache_key: str) -> Path:
        return self.root / "lr" / cache_key / f"{image_digest(hr)}.png"

    def get_or_make(self, hr: np.ndarray, degradation) -> np.ndarray:
        """The cached LR image of ``hr``, made by ``degradation`` and stored on a miss."""
        path = self.path_for(hr, degradation.cache_key)
        if path.is_file():
            try:
                cached = read_image(path)
            except DistillsrError:
                cached = None
            if cached is not None and cached.dtype == hr.dtype and cached.ndim == hr.ndim:
                self.hits += 1
                return cached
        self.misses += 1
        lr = degradation(hr)
        if np.issubdtype(lr.dtype, np.integer):
            try:
                write_image(path, lr)
            except (OSError, DistillsrError):
                pass  # a read-only or full cache must not stop an evaluation
        return lr
