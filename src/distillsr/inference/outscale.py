"""Output scales other than the model's: the model's upscale, then a MATLAB bicubic resize.

This is Real-ESRGAN's ``--outscale`` behaviour: a x4 model can deliver x2 or x3 output at the
quality of its x4 result, which beats running a weaker x2 model. Both ``distillsr upscale -s``
and :func:`distillsr.upscale` (``scale=``) go through :func:`upscale_pixels`, so the command and
the library give identical pixels.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from distillsr.inference.upscaler import Upscaler


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
    if outscale is None or math.isclose(outscale, upscaler.scale):
        return out
    from distillsr.imaging.resize import imresize

    height, width = pixels.shape[:2]
    return imresize(out, size=output_size(height, width, outscale))
