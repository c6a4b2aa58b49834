"""A seam detector for tiled outputs: are jumps across tile borders larger than elsewhere?

``seam_ratio`` compares the mean absolute difference between neighbouring pixels *across* the
given border lines with the same statistic over every other pair of neighbouring lines. A seamless
image scores about 1 (borders look like any other line); a visible seam scores well above 1.

Only the tests use it (the tiling and per-tile-width tests), so it lives with them, not in the package.
"""

from __future__ import annotations

import numpy as np


def _line_jumps(image: np.ndarray, axis: int) -> np.ndarray:
    """Mean |difference| between line k and line k-1 along ``axis``, for every k >= 1."""
    diff = np.abs(np.diff(image.astype(np.float64), axis=axis))
    other = tuple(a for a in range(diff.ndim) if a != axis)
    return diff.mean(axis=other)


def seam_ratio(image: np.ndarray, rows: list[int], cols: list[int]) -> float:
    """Jumps across the border lines (first row/column of each tile after the first) vs elsewhere."""
    ratios = []
    for axis, borders in ((0, rows), (1, cols)):
        borders = [b for b in borders if 0 < b < image.shape[axis]]
        if not borders:
            continue
        jumps = _line_jumps(image, axis)  # jumps[k - 1] is between line k - 1 and line k
        at_border = np.array([jumps[b - 1] for b in borders])
        mask = np.ones(jumps.shape[0], dtype=bool)
        mask[[b - 1 for b in borders]] = False
        ratios.append(at_border.mean() / max(jumps[mask].mean(), 1e-12))
    return float(max(ratios)) if ratios else 1.0


def tile_borders(length: int, tile: int, scale: int) -> list[int]:
    """Output coordinates where tile cores meet (tiles of ``tile`` LR pixels, upscaled ``scale``x)."""
    return [start * scale for start in range(tile, length, tile)]
