"""How hard an LR input is to super-resolve: the pluggable difficulty score of dynamic inference.

A score is anything callable on an LR image that returns a float where **higher means easier**
(:class:`DifficultyScore`); it has a ``name`` so a calibrated checkpoint can say which score its
thresholds are on, and the same score is rebuilt at inference (:func:`make_score`).

CSD's score (``dmcv-ecnu/Dynamic-CSD, dynamic_test.py``) is :class:`BicubicRoundTrip`: shrink the
LR image by the model's scale with bicubic, enlarge it back, and take the PSNR of the round trip
against the LR image on the Y channel with ``scale`` border pixels shaved. Content that survives
losing its top octave is smooth, so a high PSNR marks an easy input. We use MATLAB bicubic
(:mod:`distillsr.imaging.resize`) where the official code uses torch's, so our thresholds are not
interchangeable with theirs, but the ordering of inputs is the same idea.

Inputs are what the engine sees: a uint8/uint16/float ``HxW[xC]`` array (a benchmark LR image) or
a ``(1, C, H, W)`` float tensor in [0, 1] (a tile window: core plus context).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from distillsr.errors import DistillsrError

DEFAULT_SCORE = "bicubic-psnr"
# Returned when an input is too small to shrink by the scale: nothing can be judged, so it counts
# as hard and runs at full width (such an input costs next to nothing anyway).
HARDEST = 0.0


@runtime_checkable
class DifficultyScore(Protocol):
    """A difficulty score: ``score(lr) -> float``, higher = easier; ``name`` says which one."""

    name: str

    def __call__(self, lr: Any) -> float: ...


def luma_255(lr: Any) -> np.ndarray:
    """The image's BT.601 Y on the 0-255 scale (float64, ``HxW``); a one-channel image as it is.

    Accepts an ``HxW[xC]`` array (integers by their full scale, floats in [0, 1]; a fourth, alpha
    channel is ignored) or a ``(1, C, H, W)`` tensor in [0, 1].
    """
    from distillsr.imaging.color import rgb_to_y

    if hasattr(lr, "detach"):  # a torch tensor, without importing torch here
        if lr.ndim != 4 or lr.shape[0] != 1:
            raise DistillsrError(f"a difficulty score takes a (1, C, H, W) tensor, got shape {tuple(lr.shape)}")
        array = lr.detach().float().cpu().numpy()[0].transpose(1, 2, 0)
        white = 1.0
    else:
        array = np.asarray(lr)
        white = float(np.iinfo(array.dtype).max) if np.issubdtype(array.dtype, np.integer) else 1.0
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3:
        raise DistillsrError(f"a difficulty score takes an HxW or HxWxC image, got shape {array.shape}")
    if array.shape[2] in (2, 4):  # grey+alpha, RGBA: drop alpha
        array = array[..., :-1]
    if array.shape[2] == 1:
        return array[..., 0].astype(np.float64) * (255.0 / white)
    if array.shape[2] != 3:
        raise DistillsrError(f"a difficulty score takes 1 or 3 colour channels, got {array.shape[2]}")
    return rgb_to_y(array, white)


class BicubicRoundTrip:
    """CSD's difficulty: PSNR (Y, 0-255, ``scale`` px shaved) of the LR against its bicubic down-up trip.

    The LR image is first cropped to a multiple of ``scale`` so the trip returns to the same size.
    A flat image survives the trip exactly (infinite PSNR, the easiest); noise loses most of its
    energy (a low PSNR, the hardest).
    """

    name = DEFAULT_SCORE

    def __init__(self, scale: int) -> None:
        if scale < 2:
            raise DistillsrError(f"the bicubic round-trip score needs a scale of at least 2, got {scale}")
        self.scale = scale

    def __call__(self, lr: Any) -> float:
        from distillsr.imaging.resize import imresize
        from distillsr.metrics.psnr import psnr

        s = self.scale
        y = luma_255(lr)
        y = y[: y.shape[0] // s * s, : y.shape[1] // s * s]
        if min(y.shape) < s:
            return HARDEST
        trip = imresize(imresize(y, 1 / s), size=y.shape)
        if min(y.shape) > 2 * s:  # shave the border as the official test does, where something is left
            y, trip = y[s:-s, s:-s], trip[s:-s, s:-s]
        value = psnr(y, trip, 255.0)
        return value if not math.isnan(value) else HARDEST


SCORES: dict[str, Callable[[int], DifficultyScore]] = {
    BicubicRoundTrip.name: BicubicRoundTrip,
}
"""The difficulty scores by name: explicit, so a checkpoint's score name always resolves the same way."""


def make_score(name: str, scale: int) -> DifficultyScore:
    """The score called ``name`` for a model of ``scale``, or an error listing the known ones."""
    factory = SCORES.get(name)
    if factory is None:
        raise DistillsrError(f"unknown difficulty score {name!r}; known scores: {', '.join(SCORES)}")
    return factory(scale)
