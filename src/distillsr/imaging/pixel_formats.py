"""What an output file format can hold, and the two changes made when it cannot hold the pixels.

An upscaled image keeps its layout (grey, alpha, 16 bits) as far as its output format allows.
Where it does not — alpha in JPEG or BMP, 16 bits in JPEG or WEBP — the pixels are changed the
way a viewer would show them (alpha flattened onto white; 16 bits rounded to the nearest 8-bit
value) rather than cut (dropping the alpha plane reveals whatever colour sat under transparent
pixels; dropping the low byte darkens by up to half a level). Formats are named by file suffix,
the way :func:`distillsr.imaging.write.write_image` chooses them.
"""

from __future__ import annotations

import numpy as np

# Formats whose files cannot keep an alpha channel (Pillow's BMP writer drops it).
NO_ALPHA_FORMATS = frozenset({"JPEG", "BMP"})
_FORMAT_NAMES = {".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}


def format_name(suffix: str) -> str:
    """The format's name for messages ("JPEG" for .jpg): users know formats, not suffixes."""
    return _FORMAT_NAMES.get(suffix.lower(), suffix.lstrip(".").upper())


def holds_alpha(suffix: str) -> bool:
    """Whether a file with this suffix keeps an alpha channel."""
    return format_name(suffix) not in NO_ALPHA_FORMATS


def holds_16bit(suffix: str, pixels: np.ndarray) -> bool:
    """Whether ``pixels``' layout can be written at 16 bits: PNG holds every layout, while
    write_image writes 16-bit TIFF for grey only (Pillow has no 16-bit RGB TIFF mode)."""
    suffix = suffix.lower()
    return suffix == ".png" or (suffix in (".tif", ".tiff") and pixels.ndim == 2)


def flatten_alpha(pixels: np.ndarray) -> np.ndarray:
    """RGBA onto white: what a viewer shows, and what a format without alpha can store."""
    maxval = float(np.iinfo(pixels.dtype).max)
    colour = pixels[..., :3].astype(np.float64)
    coverage = pixels[..., 3:].astype(np.float64) / maxval
    flat = colour * coverage + maxval * (1.0 - coverage)
    return np.floor(flat + 0.5).astype(pixels.dtype)


def to_8bit(pixels: np.ndarray) -> np.ndarray:
    """16-bit to 8-bit by rounding (x / 257), the exact inverse of 8-bit to 16-bit widening."""
    return np.floor(pixels.astype(np.float64) / 257.0 + 0.5).astype(np.uint8)
