"""RGB <-> YCbCr exactly as MATLAB's ``rgb2ycbcr`` / ``ycbcr2rgb`` (ITU-R BT.601, studio range).

SR papers score the Y channel of this transform. MATLAB's definition differs from the JPEG/PIL
full-range YCbCr (Y in [16, 235] instead of [0, 255]), which alone moves PSNR by ~0.1 dB, so the
matrix and offsets here are MATLAB's, and integer images are rounded the way MATLAB's
``imlincomb`` rounds them (half away from zero, saturated).

Float images are on the [0, 1] scale, as in MATLAB; uint8 and uint16 on their full integer range.
"""

from __future__ import annotations

import numpy as np

from distillsr.errors import DistillsrError
from distillsr.imaging.rounding import matlab_cast

# MATLAB's matrix for R, G, B in [0, 1] giving Y, Cb, Cr on the 0-255 scale (before the offset).
RGB_TO_YCBCR = np.array(
    [
        [65.481, 128.553, 24.966],
        [-37.797, -74.203, 112.0],
        [112.0, -93.786, -18.214],
    ],
    dtype=np.float64,
)
YCBCR_OFFSET = np.array([16.0, 128.0, 128.0], dtype=np.float64)
YCBCR_TO_RGB = np.linalg.inv(RGB_TO_YCBCR)

# What MATLAB's 0-255 coefficients become for each class: (value of "1.0", offset scale).
_RANGE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def _check_rgb(image: np.ndarray, what: str) -> None:
    if image.ndim < 1 or image.shape[-1] != 3:
        raise DistillsrError(f"{what} expects an image with 3 channels last, got shape {image.shape}")


def _integer_range(dtype: np.dtype) -> float | None:
    if np.issubdtype(dtype, np.floating):
        return None
    try:
        return _RANGE[np.dtype(dtype)]
    except KeyError:
        raise DistillsrError(f"colour conversion supports uint8, uint16 and float images, not {dtype}") from None


def rgb2ycbcr(image: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2ycbcr``: uint8/uint16 in, same class out (rounded); float in [0, 1] in and out."""
    image = np.asarray(image)
    _check_rgb(image, "rgb2ycbcr")
    full = _integer_range(image.dtype)
    if full is None:
        return (image.astype(np.float64) @ RGB_TO_YCBCR.T + YCBCR_OFFSET) / 255.0
    # MATLAB: Y = T/255 * RGB_int + offset * (full/255); e.g. uint16 offset 16 -> 16 * 257.
    values = image.astype(np.float64) @ (RGB_TO_YCBCR.T / 255.0) + YCBCR_OFFSET * (full / 255.0)
    return matlab_cast(values, image.dtype)


def ycbcr2rgb(image: np.ndarray) -> np.ndarray:
    """MATLAB ``ycbcr2rgb``: the inverse of :func:`rgb2ycbcr` for each class (clipped like MATLAB)."""
    image = np.asarray(image)
    _check_rgb(image, "ycbcr2rgb")
    full = _integer_range(image.dtype)
    if full is None:
        return (image.astype(np.float64) * 255.0 - YCBCR_OFFSET) @ YCBCR_TO_RGB.T
    values = (image.astype(np.float64) * (255.0 / full) - YCBCR_OFFSET) @ YCBCR_TO_RGB.T * full
    return matlab_cast(values, image.dtype)


def rgb_to_y(image: np.ndarray, value_range: float = 255.0) -> np.ndarray:
    """Y of MATLAB's BT.601 transform in float64 on the 0-255 scale, *not rounded*.

    This is what the classic SR protocol scores: ``16 + (65.481 R + 128.553 G + 24.966 B)`` with
    R, G, B in [0, 1]. ``value_range`` is the value of white in ``image`` (255 for uint8-scaled
    data, 1 for [0, 1] floats, 65535 for uint16).
    """
    image = np.asarray(image)
    _check_rgb(image, "rgb_to_y")
    rgb = image.astype(np.float64) / value_range
    return rgb @ RGB_TO_YCBCR[0] + YCBCR_OFFSET[0]


def rgb_to_grey(image: np.ndarray) -> np.ndarray:
    """Luma without the studio offset, ``(65.481 R + 128.553 G + 24.966 B) / 219``, in float64.

    Brings a model's RGB output back to one channel when the ground truth is greyscale (the same
    0.299/0.587/0.114 weights as the Y row, rescaled so white stays white).
    """
    image = np.asarray(image)
    _check_rgb(image, "rgb_to_grey")
    return image.astype(np.float64) @ (RGB_TO_YCBCR[0] / RGB_TO_YCBCR[0].sum())
