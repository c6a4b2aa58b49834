"""Decoding 16-bit PNG and TIFF data exactly, where Pillow alone would keep only 8 bits.

Pillow opens 16-bit RGB/RGBA PNGs and TIFFs as 8-bit images (its unpackers keep the high byte of
each sample) and 16-bit grey+alpha PNGs as 8-bit RGBA. Its decoders (PNG unfiltering, Adam7
de-interlacing, TIFF strips, libtiff) work on the raw byte stream, though; only the final unpacker,
chosen by the tile's *rawmode*, discards a byte. Changing the rawmode therefore recovers every bit
without a decoder of our own:

* colour: decode twice, once as declared (high bytes) and once with the byte order swapped (low
  bytes), and combine the halves;
* grey+alpha: each pixel is 4 bytes (grey hi, grey lo, alpha hi, alpha lo), the size of an 8-bit
  RGBA pixel, so unpacking as plain ``RGBA`` places the four bytes in four channels untouched.

16-bit grey (``I;16``) needs none of this: Pillow keeps it whole.
"""

from __future__ import annotations

import sys

import numpy as np
from PIL import Image, ImageFile

from distillsr.imaging.modes import UnsupportedLayoutError

__all__ = [
    "decode_16bit_colour",
    "decode_16bit_grey_alpha",
    "is_16bit_grey_alpha",
    "low_byte_rawmodes",
]

# Rawmodes whose default unpacker keeps only the high byte of each 16-bit sample, mapped to the
# rawmode that makes the same decoder keep the low byte instead. 'N' (native order, used by libtiff)
# is resolved against the host byte order.
_LOW_BYTE_RAWMODE: dict[str, str] = {
    "RGB;16B": "RGB;16L",
    "RGB;16L": "RGB;16B",
    "RGBA;16B": "RGBA;16L",
    "RGBA;16L": "RGBA;16B",
    "RGBX;16B": "RGBX;16L",
    "RGBX;16L": "RGBX;16B",
    "RGB;16N": "RGB;16B" if sys.byteorder == "little" else "RGB;16L",
    "RGBA;16N": "RGBA;16B" if sys.byteorder == "little" else "RGBA;16L",
    "RGBX;16N": "RGBX;16B" if sys.byteorder == "little" else "RGBX;16L",
}


def _tile_rawmode(tile: ImageFile._Tile) -> str | None:
    """Pillow stores the rawmode either as the tile args or as their first element."""
    args = tile.args
    if isinstance(args, str):
        return args
    if isinstance(args, tuple) and args and isinstance(args[0], str):
        return args[0]
    return None


def _with_rawmode(tile: ImageFile._Tile, rawmode: str) -> ImageFile._Tile:
    """Copy a tile, changing only its rawmode, in whichever shape Pillow stored it."""
    if isinstance(tile.args, str):
        return tile._replace(args=rawmode)
    return tile._replace(args=(rawmode, *tile.args[1:]))


def low_byte_rawmodes(image: Image.Image) -> list[str] | None:
    """Low-byte rawmode per tile when the file holds 16-bit colour that Pillow would truncate."""
    if image.format not in ("PNG", "TIFF") or not image.tile:
        return None
    rawmodes = [_tile_rawmode(tile) for tile in image.tile]
    if not all(rawmode in _LOW_BYTE_RAWMODE for rawmode in rawmodes):
        return None
    return [_LOW_BYTE_RAWMODE[rawmode] for rawmode in rawmodes if rawmode is not None]


def decode_16bit_colour(high: Image.Image, low: Image.Image, low_rawmodes: list[str]) -> np.ndarray:
    """All 16 bits of colour from two unloaded opens of the same bytes (see the module docstring).

    ``high`` is decoded as declared; ``low`` has its tiles switched to ``low_rawmodes`` first.
    """
    low.tile = [_with_rawmode(tile, raw) for tile, raw in zip(low.tile, low_rawmodes, strict=True)]
    high.load()
    low.load()
    high_bytes = np.asarray(high, dtype=np.uint8)
    low_bytes = np.asarray(low, dtype=np.uint8)
    if high_bytes.shape != low_bytes.shape or high_bytes.ndim != 3:
        raise UnsupportedLayoutError("inconsistent 16-bit decode (unsupported file layout)")
    return (high_bytes.astype(np.uint16) << 8) | low_bytes


def is_16bit_grey_alpha(image: Image.Image) -> bool:
    """Pillow opens 16-bit grey+alpha PNGs as 8-bit RGBA via rawmode 'LA;16B'."""
    return (
        image.format == "PNG"
        and len(image.tile) == 1
        and _tile_rawmode(image.tile[0]) == "LA;16B"
    )


def decode_16bit_grey_alpha(image: Image.Image) -> np.ndarray:
    """Decode 16-bit grey+alpha exactly, returned as RGBA like 8-bit grey+alpha.

    Pillow has no low-byte unpacker for 'LA;16B'; unpacking as plain 'RGBA' keeps all four bytes
    of each pixel, after the usual unfiltering and de-interlacing.
    """
    image.tile = [_with_rawmode(image.tile[0], "RGBA")]
    image.load()
    raw = np.asarray(image, dtype=np.uint8).astype(np.uint16)
    grey = (raw[..., 0] << 8) | raw[..., 1]
    alpha = (raw[..., 2] << 8) | raw[..., 3]
    return np.stack([grey, grey, grey, alpha], axis=-1)
