"""Integer pixels <-> floats in [0, 1], and the full-scale value that links the two.

Only ``uint8`` and ``uint16`` (in either byte order) count as pixels: they are what
:func:`~distillsr.imaging.read.read_image` returns and :func:`~distillsr.imaging.write.write_image`
accepts, so one definition of "full scale" here keeps reading, writing and scaling in agreement.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from distillsr.errors import DistillsrError, NonFiniteValuesError

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

__all__ = ["from_float", "full_scale", "to_float"]

_FULL_SCALE: dict[int, int] = {1: 255, 2: 65535}  # unsigned integer item size -> full-scale value


def full_scale(dtype: np.dtype) -> int | None:
    """Full-scale value for uint8/uint16 in either byte order; None for dtypes images cannot be."""
    if dtype.kind != "u":
        return None
    return _FULL_SCALE.get(dtype.itemsize)


def to_float(array: np.ndarray) -> np.ndarray:
    """Scale integer pixels to float64 in [0, 1] so models and metrics share one value range."""
    max_value = full_scale(np.asarray(array).dtype)
    if max_value is None:
        raise DistillsrError(f"to_float expects uint8 or uint16 pixels, got dtype {array.dtype}")
    return np.asarray(array, dtype=np.float64) / max_value


def from_float(array: np.ndarray, dtype: DTypeLike) -> np.ndarray:
    """Map [0, 1] floats back to pixels, clipping overshoot and rounding half away from zero.

    Rounding half up (rather than numpy's half-to-even) matches what most image tools and
    reference metric implementations do, so saved outputs compare equal with theirs. Infinities
    are overshoot like any other and clip to 0 or full scale; NaN has no pixel value, and raises
    :class:`~distillsr.errors.NonFiniteValuesError`, worded neutrally because only the caller
    knows whose values they were (a model's output, a resize, a file).
    """
    target = np.dtype(dtype)
    max_value = full_scale(target)
    if max_value is None:
        raise DistillsrError(f"from_float can produce uint8 or uint16, not {target}")
    values = np.asarray(array, dtype=np.float64)
    if np.isnan(values).any():
        raise NonFiniteValuesError(f"cannot convert NaN values to {target} pixels")
    clipped = np.clip(values, 0.0, 1.0)
    return np.floor(clipped * max_value + 0.5).astype(target)
