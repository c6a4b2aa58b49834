"""Pillow modes -> the three array layouts the rest of distillsr understands.

Everything downstream of the reader sees ``uint8`` or ``uint16`` arrays shaped ``HxW`` (grey),
``HxWx3`` (RGB) or ``HxWx4`` (RGBA), so metric and training code never has to care about
palettes, CMYK, 1-bit data or 32-bit containers. The choices:

* Grey+alpha (``LA``) becomes RGBA with the grey value copied into R, G and B: a two-channel
  array would be a layout no other code handles, while RGBA is handled everywhere.
* Palette images become RGB, or RGBA when the palette carries transparency. Mode ``1`` becomes
  ``uint8`` grey with values 0 and 255. CMYK, YCbCr, LAB and HSV become RGB via Pillow.
* 32-bit integer images (mode ``I``, e.g. 16-bit PGM) are returned as ``uint16`` when every value
  lies in 0..65535 and refused otherwise; 32-bit float images (mode ``F``) are always refused,
  because there is no scale that would map them onto integers without guessing.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["UnsupportedLayoutError", "normalise_mode"]

_TO_RGB_MODES = frozenset({"CMYK", "YCbCr", "LAB", "HSV", "RGBX"})
_TO_RGBA_MODES = frozenset({"LA", "La", "PA", "RGBa"})
_UINT16_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})


class UnsupportedLayoutError(ValueError):
    """Decoded pixels that map onto none of our layouts; the reader adds the file name."""


def normalise_mode(image: Image.Image) -> np.ndarray:
    """A loaded Pillow image as a ``uint8``/``uint16`` grey, RGB or RGBA array."""
    mode = image.mode
    if mode in ("L", "RGB", "RGBA"):
        return np.asarray(image, dtype=np.uint8)
    if mode == "1":
        return np.asarray(image.convert("L"), dtype=np.uint8)
    if mode == "P":
        return np.asarray(image.convert(_palette_target_mode(image)), dtype=np.uint8)
    if mode in _TO_RGBA_MODES:
        return np.asarray(image.convert("RGBA"), dtype=np.uint8)
    if mode in _TO_RGB_MODES:
        return np.asarray(image.convert("RGB"), dtype=np.uint8)
    if mode in _UINT16_MODES:
        return np.asarray(image).astype(np.uint16)
    if mode == "I":
        return _int32_to_uint16(np.asarray(image))
    if mode == "F":
        raise UnsupportedLayoutError("32-bit floating-point images are not supported")
    raise UnsupportedLayoutError(f"unsupported image mode '{mode}'")


def _palette_target_mode(image: Image.Image) -> str:
    """Palette transparency must survive as alpha, otherwise transparent pixels get a colour."""
    has_transparency = getattr(image, "has_transparency_data", None)
    if has_transparency is not None:
        return "RGBA" if has_transparency else "RGB"
    return "RGBA" if "transparency" in image.info else "RGB"


def _int32_to_uint16(values: np.ndarray) -> np.ndarray:
    """Accept 32-bit integer data only when it is really 16-bit data in a wider container."""
    low, high = int(values.min()), int(values.max())
    if low < 0 or high > 65535:
        raise UnsupportedLayoutError(
            f"32-bit integer image has values {low}..{high} outside the 16-bit range 0..65535"
        )
    return values.astype(np.uint16)
