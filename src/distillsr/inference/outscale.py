"""Output scales other than the model's: the model's upscale, then a MATLAB bicubic resize.

This is Real-ESRGAN's ``--outscale`` behaviour: a x4 model can deliver x2 or x3 output at the
quality of its x4 result, which beats running a weaker x2 model. Both ``distillsr upscale -s``
and :func:`distillsr.upscale` (``scale=``) go through :func:`upscale_pixels`, so the command and
the library give identical pixels; whether a resize happens at all is :func:`needs_resize`, the
one rule the command's note and the pixels share.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from distillsr.errors import DistillsrError

if TYPE_CHECKING:
    import numpy as np

    from distillsr.inference.upscaler import Backend, Upscaler


def output_scale(model: Backend, scale: float | None) -> float:
    """The scale the output has: the model's own unless asked otherwise."""
    if scale is None:
        return float(model.scale)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (scale > 0 and math.isfinite(scale)):
        raise DistillsrError(f"scale must be a positive number, not {scale!r}")
    return float(scale)


def needs_resize(model_scale: float, outscale: float | None) -> bool:
    """Whether the model's output must be resized to reach ``outscale`` (None: the model's own)."""
    return outscale is not None and not math.isclose(outscale, model_scale, rel_tol=0.0, abs_tol=1e-9)


def output_size(height: int, width: int, outscale: float) -> tuple[int, int]:
    """MATLAB's rule, ``ceil(scale * size)`` with float noise removed, as imresize uses."""
    from distillsr.imaging.resize import output_size as matlab_size

    return matlab_size((height, width), outscale)


def upscale_pixels(
    upscaler: Upscaler, pixels: np.ndarray, outscale: float | None = None, *, alpha: str = "bicubic"
) -> np.ndarray:
    """The model's upscale of ``pixels``, resized with MATLAB bicubic when ``outscale`` differs.

    The output size is taken from the *input* size (``ceil(outscale * size)``), not from the
    model's output, so that x2.5 of a 48x64 image is 120x160 whatever the model's own scale.
    Integer pixels are rounded after each pass, as MATLAB does.
    """
    out = upscaler.upscale_array(pixels, alpha=alpha)
    if not needs_resize(upscaler.scale, outscale):
        return out
    from distillsr.imaging.resize import imresize

    height, width = pixels.shape[:2]
    return imresize(out, size=output_size(height, width, outscale))
