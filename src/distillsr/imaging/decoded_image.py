"""What a reader can tell about an image file beyond its pixels: format, mode, profile, notes.

Tools that write a new file for an input (the upscaler) want to keep its look and tell the user
where the pixels they got differ from what the file stores. The rules live here, apart from
decoding, so that :func:`~distillsr.imaging.read.read_image` stays cheap for the many callers that
only want pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

__all__ = ["DecodedImage", "describe_decoded", "frame_count"]


@dataclass(frozen=True)
class DecodedImage:
    """The pixels :func:`read_image` returns, plus what a writer needs to keep the file's look.

    ``icc_profile`` is only set when it describes ``pixels`` (an RGB profile for RGB/RGBA, a grey
    one for grey): a CMYK profile carried onto converted RGB pixels would shift every colour.
    ``notes`` say, one short sentence each, where the pixels differ from what the file stores
    (palette or CMYK converted, profile dropped, further frames ignored), so tools can tell users.
    """

    pixels: np.ndarray
    format: str | None  # Pillow's name of the file format, e.g. "PNG", "JPEG"
    mode: str  # the Pillow mode the file was stored in, before normalisation
    icc_profile: bytes | None = None
    notes: tuple[str, ...] = ()


def describe_decoded(pixels: np.ndarray, header: Image.Image, mode: str, frames: int) -> DecodedImage:
    """``pixels`` with the format, profile and notes of the file ``header`` was opened from.

    ``mode`` is the file's true mode, which the caller knows better than Pillow for 16-bit
    grey+alpha (Pillow calls it RGBA); ``frames`` comes from :func:`frame_count`.
    """
    profile, profile_note = _profile_for(header.info.get("icc_profile"), pixels)
    notes = (_conversion_note(mode, pixels), profile_note, _frames_note(frames))
    return DecodedImage(pixels, header.format, mode, profile, tuple(note for note in notes if note))


# Modes whose pixels read_image changes in kind, worth telling a user about.
_CONVERTED_MODE_NAMES: dict[str, str] = {
    "P": "palette",
    "PA": "palette",
    "CMYK": "CMYK",
    "YCbCr": "YCbCr",
    "LAB": "Lab",
    "HSV": "HSV",
    "LA": "grey+alpha",
    "La": "grey+alpha",
    "1": "1-bit",
    "I": "32-bit integer",
}


def _layout_name(pixels: np.ndarray) -> str:
    depth = "16-bit " if pixels.dtype == np.uint16 else ""
    layout = "grey" if pixels.ndim == 2 else "RGBA" if pixels.shape[2] == 4 else "RGB"
    return depth + layout


def _conversion_note(mode: str, pixels: np.ndarray) -> str | None:
    name = _CONVERTED_MODE_NAMES.get(mode)
    return None if name is None else f"{name} image converted to {_layout_name(pixels)}"


# The colour space signature at bytes 16-20 of every ICC profile header.
_ICC_SPACE = slice(16, 20)


def _profile_for(profile: object, pixels: np.ndarray) -> tuple[bytes | None, str | None]:
    """The file's ICC profile if its colour space is that of ``pixels``, else a note saying why not."""
    if not isinstance(profile, bytes) or not profile:
        return None, None
    wanted = b"GRAY" if pixels.ndim == 2 else b"RGB "
    space = profile[_ICC_SPACE]
    if space == wanted:
        return profile, None
    named = space.decode("ascii", "replace").strip() or "unknown"
    return None, f"its {named} ICC profile was dropped (it does not describe {_layout_name(pixels)} pixels)"


def frame_count(image: Image.Image) -> int:
    """Frames in an animated or multi-page file; damaged frame tables must not fail the read."""
    try:
        return int(getattr(image, "n_frames", 1))
    except Exception:  # noqa: BLE001 - Pillow seeks through the file and may hit bad data
        return 1


def _frames_note(frames: int) -> str | None:
    return f"{frames} frames: only the first was read" if frames > 1 else None
