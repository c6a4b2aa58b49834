"""Reading image files as arrays, with one-line errors naming the file and 16-bit precision kept.

Everything else in distillsr sees images only as arrays from :func:`read_image`: ``uint8`` or
``uint16``, ``HxW`` (grey), ``HxWx3`` (RGB) or ``HxWx4`` (RGBA), C-contiguous, already turned
upright by the EXIF orientation tag. This module is the pipeline and its failure handling; the
steps live beside it:

* :mod:`~distillsr.imaging.modes` maps Pillow modes (palette, CMYK, grey+alpha, 1-bit, 32-bit
  containers) onto those layouts;
* :mod:`~distillsr.imaging.decode16` keeps all 16 bits of PNG and TIFF colour and grey+alpha,
  which Pillow on its own would cut to 8 (16-bit colour PPM files are scaled to 8 bits by Pillow
  and are returned as such);
* :mod:`~distillsr.imaging.orientation` reads the EXIF orientation leniently and applies it;
* :mod:`~distillsr.imaging.decoded_image` describes a file beyond its pixels, for
  :func:`read_image_with_info`.

A colour-key transparency (``tRNS`` on a grey or RGB PNG) is ignored: only palettes gain alpha.
Every failure to read raises :class:`~distillsr.errors.ImageReadError` naming the file, so the CLI
can print one line instead of a Pillow traceback.
"""

from __future__ import annotations

import io
import os
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from distillsr.errors import ImageReadError
from distillsr.imaging.decode16 import (
    decode_16bit_colour,
    decode_16bit_grey_alpha,
    is_16bit_grey_alpha,
    low_byte_rawmodes,
)
from distillsr.imaging.decoded_image import DecodedImage, describe_decoded, frame_count
from distillsr.imaging.modes import UnsupportedLayoutError, normalise_mode
from distillsr.imaging.orientation import apply_orientation, exif_orientation
from distillsr.imaging.png16 import PNG_SIGNATURE

__all__ = ["read_image", "read_image_with_info"]

# File signatures, used only to word the error when Pillow cannot identify a file: "corrupt PNG
# header" helps the user far more than "not an image" when the file is in fact a damaged PNG.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (PNG_SIGNATURE, "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"GIF8", "GIF"),
)

# Guards the temporary override of Pillow's global LOAD_TRUNCATED_IMAGES flag.
_TRUNCATION_LOCK = threading.Lock()


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as an upright ``uint8``/``uint16`` array (see the module docstring).

    The file is read into memory once, so the two decodes needed for 16-bit colour PNGs see
    identical bytes even if the file changes on disk meanwhile.
    """
    path = Path(path)
    data = _read_file_bytes(path)
    with _wording_failures(path), _refuse_truncated_images():
        array, orientation = _decode(path, data)
    return np.ascontiguousarray(apply_orientation(array, orientation))


def read_image_with_info(path: str | os.PathLike[str]) -> DecodedImage:
    """Read an image exactly as :func:`read_image` does, together with its format, mode and profile.

    Kept apart from :func:`read_image` so that the many callers that only want pixels (metrics,
    datasets) do not pay for a second header parse.
    """
    path = Path(path)
    data = _read_file_bytes(path)
    with _wording_failures(path), _refuse_truncated_images():
        array, orientation = _decode(path, data)
        header = _open(path, data)
        frames = frame_count(header)
    pixels = np.ascontiguousarray(apply_orientation(array, orientation))
    mode = "LA" if is_16bit_grey_alpha(header) else header.mode
    return describe_decoded(pixels, header, mode, frames)


def _read_error(path: Path, reason: str) -> ImageReadError:
    """Build the one-line message format every read failure shares."""
    one_line = " ".join(reason.split())
    return ImageReadError(f"cannot read image '{path}': {one_line}")


def _read_file_bytes(path: Path) -> bytes:
    """Fail early with a precise reason for the common filesystem problems."""
    if not path.exists():
        raise _read_error(path, "file does not exist")
    if path.is_dir():
        raise _read_error(path, "is a directory, not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _read_error(path, exc.strerror or str(exc)) from exc
    if not data:
        raise _read_error(path, "file is empty")
    return data


@contextmanager
def _wording_failures(path: Path) -> Iterator[None]:
    """Turn whatever decoding raises into one :class:`ImageReadError` naming ``path``."""
    try:
        yield
    except ImageReadError:
        raise
    except UnsupportedLayoutError as exc:
        raise _read_error(path, str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on corrupt data
        raise _read_error(path, _describe_pillow_error(exc)) from exc


def _describe_pillow_error(exc: Exception) -> str:
    """Turn a Pillow exception into a short reason; Pillow's own wording is often cryptic."""
    if isinstance(exc, Image.DecompressionBombError):
        return f"image is too large to decode safely ({exc})"
    text = str(exc) or type(exc).__name__
    if "truncated" in text.lower():
        return "file is truncated"
    if "broken data stream" in text:
        return "image data is corrupt (broken data stream)"
    return text


@contextmanager
def _refuse_truncated_images() -> Iterator[None]:
    """Make Pillow raise on truncated files even if someone enabled LOAD_TRUNCATED_IMAGES.

    Pillow only consults the module-level flag, so the only way to be strict is to clear it for the
    duration of the decode and restore it afterwards. In the usual case (flag already False) nothing
    is touched and no lock is taken.
    """
    if not ImageFile.LOAD_TRUNCATED_IMAGES:
        yield
        return
    with _TRUNCATION_LOCK:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _decode(path: Path, data: bytes) -> tuple[np.ndarray, int]:
    """Decode bytes to a normalised array plus the EXIF orientation still to be applied."""
    image = _open(path, data)
    low_rawmodes = low_byte_rawmodes(image)
    if low_rawmodes is not None:
        array = decode_16bit_colour(image, _open(path, data), low_rawmodes)
    elif is_16bit_grey_alpha(image):
        array = decode_16bit_grey_alpha(image)
    else:
        image.load()
        array = normalise_mode(image)
    return array, exif_orientation(image)


def _open(path: Path, data: bytes) -> Image.Image:
    """Open (header only) and enforce the size limits Pillow would only warn about."""
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise _read_error(path, _unidentified_reason(data)) from exc
    except Image.DecompressionBombWarning as exc:  # when warnings are configured as errors
        raise _read_error(path, f"image is too large to decode safely ({exc})") from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        raise _read_error(path, f"image has zero size ({width}x{height})")
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and width * height > limit:
        raise _read_error(
            path,
            f"image is too large to decode safely ({width}x{height} pixels exceeds the "
            f"limit of {limit}; raise PIL.Image.MAX_IMAGE_PIXELS if the file is trusted)",
        )
    return image


def _unidentified_reason(data: bytes) -> str:
    """Say whether the file looks like a damaged image or is not an image at all."""
    if data.startswith(PNG_SIGNATURE) and _png_header_has_zero_size(data):
        return "image has zero size"
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return f"corrupt or truncated {name} header"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "corrupt or truncated WEBP header"
    return "not a recognised image format"


def _png_header_has_zero_size(data: bytes) -> bool:
    """Pillow refuses zero-size PNGs as 'unidentified'; detect them to give a precise reason."""
    ihdr_start = len(PNG_SIGNATURE) + 8
    if len(data) < ihdr_start + 8 or data[12:16] != b"IHDR":
        return False
    width, height = struct.unpack(">II", data[ihdr_start : ihdr_start + 8])
    return width == 0 or height == 0
