"""PIL images to the engine's arrays and back, keeping the mode where one exists.

The engine (and :func:`distillsr.imaging.read.read_image`) works on uint8/uint16 arrays that are
grey, RGB or RGBA. A PIL image of another mode is converted on the way in, and the result is given
back in the mode a user would expect: ``L``, ``I;16``, ``RGB``, ``RGBA`` and ``LA`` as they came;
palette, CMYK and other colour modes as ``RGB``/``RGBA``; ``1`` as ``L``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from distillsr.errors import DistillsrError

if TYPE_CHECKING:
    from PIL import Image


def pil_to_array(image: Image.Image) -> tuple[np.ndarray, str]:
    """Engine pixels for a PIL image (the reader's own mode rules), and the mode its result is given back in."""
    from distillsr.imaging.modes import UnsupportedLayoutError, normalise_mode

    try:
        pixels = normalise_mode(image)
    except UnsupportedLayoutError as error:
        raise DistillsrError(f"PIL image of mode {image.mode}: {error} (convert to RGB, RGBA, L or I;16)") from None
    if image.mode in ("LA", "La"):
        return pixels, "LA"  # grey+alpha is RGBA inside the engine and LA again outside
    if pixels.ndim == 2:
        return pixels, "I;16" if pixels.dtype == np.uint16 else "L"
    return pixels, "RGBA" if pixels.shape[2] == 4 else "RGB"


def array_to_pil(pixels: np.ndarray, mode: str, source: Image.Image | None = None) -> Image.Image:
    """A result array as a PIL image of ``mode`` (from :func:`pil_to_array`), with the source's ICC profile.

    The profile is carried over only where it still describes the pixels: a CMYK or Lab profile
    on converted RGB would shift every colour.
    """
    from PIL import Image as PILImage

    result = PILImage.fromarray(pixels.astype("<u2") if pixels.dtype == np.uint16 else pixels)
    if mode == "LA":
        result = result.convert("LA")
    profile = source.info.get("icc_profile") if source is not None else None
    if profile and source.mode not in ("CMYK", "LAB", "HSV", "YCbCr"):
        result.info["icc_profile"] = profile
    return result
