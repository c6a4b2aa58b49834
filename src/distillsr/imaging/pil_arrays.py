"""PIL images to the engine's arrays and back, keeping the mode where one exists.

The engine (and :func:`distillsr.imaging.io.read_image`) works on uint8/uint16 arrays that are
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

# Pillow mode -> (how to get engine pixels, the mode the result is returned in).
_PIL_SAME = {"L": "L", "RGB": "RGB", "RGBA": "RGBA", "I;16": "I;16", "I;16L": "I;16", "I;16B": "I;16", "I;16N": "I;16"}
_PIL_CONVERTED = {"1": "L", "LA": "RGBA", "La": "RGBA", "PA": "RGBA", "RGBa": "RGBA", "RGBX": "RGB",
                  "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB"}


def pil_to_array(image: Image.Image) -> tuple[np.ndarray, str]:
    """Engine pixels for a PIL image, and the mode its result is to be given back in."""
    mode = image.mode
    if mode in _PIL_SAME:
        dtype = np.uint16 if mode.startswith("I;16") else np.uint8
        return np.asarray(image).astype(dtype), _PIL_SAME[mode]
    if mode == "P":
        converted = "RGBA" if _has_transparency(image) else "RGB"
        return np.asarray(image.convert(converted)), converted
    if mode == "I":
        values = np.asarray(image)
        if values.min() < 0 or values.max() > 65535:
            raise DistillsrError(f"mode I image has values {values.min()}..{values.max()} outside 0..65535")
        return values.astype(np.uint16), "I;16"
    if mode in _PIL_CONVERTED:
        target = _PIL_CONVERTED[mode]
        back = "LA" if mode in ("LA", "La") else target
        return np.asarray(image.convert(target)), back
    raise DistillsrError(f"PIL images of mode {mode} are not supported (convert to RGB, RGBA, L or I;16)")


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


def _has_transparency(image: Image.Image) -> bool:
    """Palette transparency must become alpha, or transparent pixels get a colour."""
    known = getattr(image, "has_transparency_data", None)  # Pillow >= 10.1
    return bool(known) if known is not None else "transparency" in image.info
