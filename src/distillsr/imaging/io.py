"""Reading and writing images as numpy arrays, with user-facing errors and 16-bit precision kept.

Everything else in distillsr sees images only as arrays from :func:`read_image`: ``uint8`` or
``uint16``, ``HxW`` (grey), ``HxWx3`` (RGB) or ``HxWx4`` (RGBA), C-contiguous, already turned
upright by the EXIF orientation tag. Normalising here means metric and training code never has to
care about Pillow modes, palettes, CMYK or byte order.

Decisions worth knowing about:

* Grey+alpha (``LA``, 8- or 16-bit) becomes RGBA with the grey value copied into R, G and B: a
  two-channel array would be a layout no other code handles, while RGBA is handled everywhere.
* Palette images become RGB, or RGBA when the palette carries transparency. Mode ``1`` becomes
  ``uint8`` grey with values 0 and 255. CMYK, YCbCr, LAB and HSV become RGB via Pillow.
* 16-bit PNGs (grey, grey+alpha, RGB, RGBA, interlaced or not) and 16-bit RGB/RGBA TIFFs keep all
  16 bits, although Pillow on its own would silently cut the colour ones to 8 bits. 16-bit colour
  PPM files are scaled to 8 bits by Pillow and are returned as such.
* 32-bit integer images (mode ``I``, e.g. 16-bit PGM) are returned as ``uint16`` when every value
  lies in 0..65535 and refused otherwise; 32-bit float images (mode ``F``) are always refused,
  because there is no scale that would map them onto integers without guessing.
* A colour-key transparency (``tRNS`` on a grey or RGB PNG) is ignored: only palettes gain alpha.
* EXIF metadata that cannot be parsed is treated as "no orientation" rather than failing the read.

Every failure to read raises :class:`~distillsr.errors.ImageReadError` naming the file, so the CLI
can print one line instead of a Pillow traceback.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from distillsr.atomic import atomic_write
from distillsr.errors import DataError, DistillsrError, ImageReadError
from distillsr.imaging.png16 import PNG_SIGNATURE, encode_png16

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

__all__ = [
    "IMAGE_SUFFIXES",
    "DecodedImage",
    "from_float",
    "list_images",
    "read_image",
    "read_image_with_info",
    "to_float",
    "write_image",
]

IMAGE_SUFFIXES: tuple[str, ...] = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".tif",
    ".tiff",
    ".webp",
    ".ppm",
    ".pgm",
)

PathLike = str | os.PathLike[str]

# Suffix -> Pillow format name for writing. PPM/PGM are readable but deliberately not writable:
# nothing in the toolkit produces them and their 16-bit colour support in Pillow is lossy.
_WRITE_FORMATS: dict[str, str] = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}

_MAX_VALUE: dict[int, int] = {1: 255, 2: 65535}  # unsigned integer item size -> full-scale value

# File signatures, used only to word the error when Pillow cannot identify a file: "corrupt PNG
# header" helps the user far more than "not an image" when the file is in fact a damaged PNG.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"GIF8", "GIF"),
)


# Guards the temporary override of Pillow's global LOAD_TRUNCATED_IMAGES flag.
_TRUNCATION_LOCK = threading.Lock()


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------


def read_image(path: PathLike) -> np.ndarray:
    """Read an image file as an upright ``uint8``/``uint16`` array (see the module docstring).

    The file is read into memory once, so the two decodes needed for 16-bit colour PNGs see
    identical bytes even if the file changes on disk meanwhile.
    """
    path = Path(path)
    data = _read_file_bytes(path)
    try:
        with _refuse_truncated_images():
            array, orientation = _decode(path, data)
    except ImageReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on corrupt data
        raise _read_error(path, _describe_pillow_error(exc)) from exc
    return np.ascontiguousarray(_apply_orientation(array, orientation))


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
    low_rawmodes = _low_byte_rawmodes(image)
    if low_rawmodes is not None:
        array = _decode_16bit_colour(path, data, image, low_rawmodes)
    elif _is_16bit_grey_alpha(image):
        array = _decode_16bit_grey_alpha(image)
    else:
        image.load()
        array = _normalise_mode(path, image)
    return array, _orientation(image)


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


# --- 16-bit colour --------------------------------------------------------------------------------

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


def _low_byte_rawmodes(image: Image.Image) -> list[str] | None:
    """Low-byte rawmode per tile when the file holds 16-bit colour that Pillow would truncate."""
    if image.format not in ("PNG", "TIFF") or not image.tile:
        return None
    rawmodes = [_tile_rawmode(tile) for tile in image.tile]
    if not all(rawmode in _LOW_BYTE_RAWMODE for rawmode in rawmodes):
        return None
    return [_LOW_BYTE_RAWMODE[rawmode] for rawmode in rawmodes if rawmode is not None]


def _decode_16bit_colour(
    path: Path, data: bytes, high: Image.Image, low_rawmodes: list[str]
) -> np.ndarray:
    """Recover all 16 bits by decoding twice: once keeping high bytes, once keeping low bytes.

    Pillow's decoders (PNG unfiltering, Adam7 de-interlacing, TIFF strips) work on the raw byte
    stream; only the final unpacker discards a byte. Swapping the declared byte order makes that
    unpacker keep the other byte, so two decodes give both halves of every sample exactly.
    """
    low = _open(path, data)
    low.tile = [_with_rawmode(tile, raw) for tile, raw in zip(low.tile, low_rawmodes, strict=True)]
    high.load()
    low.load()
    high_bytes = np.asarray(high, dtype=np.uint8)
    low_bytes = np.asarray(low, dtype=np.uint8)
    if high_bytes.shape != low_bytes.shape or high_bytes.ndim != 3:
        raise _read_error(path, "inconsistent 16-bit decode (unsupported file layout)")
    return (high_bytes.astype(np.uint16) << 8) | low_bytes


def _is_16bit_grey_alpha(image: Image.Image) -> bool:
    """Pillow opens 16-bit grey+alpha PNGs as 8-bit RGBA via rawmode 'LA;16B'."""
    return (
        image.format == "PNG"
        and len(image.tile) == 1
        and _tile_rawmode(image.tile[0]) == "LA;16B"
    )


def _decode_16bit_grey_alpha(image: Image.Image) -> np.ndarray:
    """Decode 16-bit grey+alpha exactly, returned as RGBA like 8-bit grey+alpha.

    Pillow has no low-byte unpacker for 'LA;16B', but each pixel is 4 bytes (grey hi, grey lo,
    alpha hi, alpha lo), the same size as an 8-bit RGBA pixel: unpacking as plain 'RGBA' places the
    four bytes in four channels untouched, after the usual unfiltering and de-interlacing.
    """
    image.tile = [_with_rawmode(image.tile[0], "RGBA")]
    image.load()
    raw = np.asarray(image, dtype=np.uint8).astype(np.uint16)
    grey = (raw[..., 0] << 8) | raw[..., 1]
    alpha = (raw[..., 2] << 8) | raw[..., 3]
    return np.stack([grey, grey, grey, alpha], axis=-1)


# --- mode normalisation ---------------------------------------------------------------------------

_TO_RGB_MODES = frozenset({"CMYK", "YCbCr", "LAB", "HSV", "RGBX"})
_TO_RGBA_MODES = frozenset({"LA", "La", "PA", "RGBa"})
_UINT16_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})


def _normalise_mode(path: Path, image: Image.Image) -> np.ndarray:
    """Map any Pillow mode onto the three layouts the rest of the toolkit understands."""
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
        return _int32_to_uint16(path, np.asarray(image))
    if mode == "F":
        raise _read_error(path, "32-bit floating-point images are not supported")
    raise _read_error(path, f"unsupported image mode '{mode}'")


def _palette_target_mode(image: Image.Image) -> str:
    """Palette transparency must survive as alpha, otherwise transparent pixels get a colour."""
    has_transparency = getattr(image, "has_transparency_data", None)
    if has_transparency is not None:
        return "RGBA" if has_transparency else "RGB"
    return "RGBA" if "transparency" in image.info else "RGB"


def _int32_to_uint16(path: Path, values: np.ndarray) -> np.ndarray:
    """Accept 32-bit integer data only when it is really 16-bit data in a wider container."""
    low, high = int(values.min()), int(values.max())
    if low < 0 or high > 65535:
        raise _read_error(
            path, f"32-bit integer image has values {low}..{high} outside the 16-bit range 0..65535"
        )
    return values.astype(np.uint16)


# --- orientation ----------------------------------------------------------------------------------

_EXIF_ORIENTATION_TAG = 0x0112

_ORIENTATIONS: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


def _orientation(image: Image.Image) -> int:
    """EXIF (or XMP) orientation; unreadable metadata must not make a good image unreadable."""
    try:
        value = image.getexif().get(_EXIF_ORIENTATION_TAG, 1)
    except Exception:  # noqa: BLE001 - corrupt EXIF blocks raise assorted errors
        return 1
    return value if isinstance(value, int) and value in _ORIENTATIONS else 1


def _apply_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    """Transpose in numpy so the same code serves 8-bit and 16-bit arrays of any channel count."""
    transform = _ORIENTATIONS.get(orientation)
    return array if transform is None else transform(array)


# --- reading with metadata -----------------------------------------------------------------------


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


def read_image_with_info(path: PathLike) -> DecodedImage:
    """Read an image exactly as :func:`read_image` does, together with its format, mode and profile.

    Kept apart from :func:`read_image` so that the many callers that only want pixels (metrics,
    datasets) do not pay for a second header parse.
    """
    path = Path(path)
    data = _read_file_bytes(path)
    try:
        with _refuse_truncated_images():
            array, orientation = _decode(path, data)
            header = _open(path, data)
            frames = _frame_count(header)
    except ImageReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on corrupt data
        raise _read_error(path, _describe_pillow_error(exc)) from exc
    pixels = np.ascontiguousarray(_apply_orientation(array, orientation))
    mode = "LA" if _is_16bit_grey_alpha(header) else header.mode
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


def _frame_count(image: Image.Image) -> int:
    """Frames in an animated or multi-page file; damaged frame tables must not fail the read."""
    try:
        return int(getattr(image, "n_frames", 1))
    except Exception:  # noqa: BLE001 - Pillow seeks through the file and may hit bad data
        return 1


def _frames_note(frames: int) -> str | None:
    return f"{frames} frames: only the first was read" if frames > 1 else None


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


def write_image(
    path: PathLike,
    array: np.ndarray,
    *,
    quality: int = 95,
    icc_profile: bytes | None = None,
) -> None:
    """Write a ``uint8``/``uint16`` array atomically, choosing the format from the suffix.

    Atomic (temporary sibling file, fsync, rename) so that an interrupted run never leaves a
    half-written image that a later evaluation would read as valid. ``quality`` only affects JPEG
    and WEBP; ``icc_profile`` is embedded where the format supports it (not BMP).
    """
    path = Path(path)
    image_format = _write_format(path)
    pixels = _validated_pixels(path, array)
    _check_quality(quality)
    encoder = _choose_encoder(path, image_format, pixels, quality, icc_profile)
    _atomic_write(path, encoder)


def _write_format(path: Path) -> str:
    """Unknown suffixes are refused rather than guessed, so typos do not produce odd files."""
    image_format = _WRITE_FORMATS.get(path.suffix.lower())
    if image_format is None:
        supported = ", ".join(sorted(_WRITE_FORMATS))
        raise DistillsrError(
            f"cannot write image '{path}': unsupported suffix '{path.suffix}' "
            f"(use one of {supported})"
        )
    return image_format


def _validated_pixels(path: Path, array: np.ndarray) -> np.ndarray:
    """Accept only integer layouts that map unambiguously to image files; floats need a scale."""
    if not isinstance(array, np.ndarray):
        raise DistillsrError(
            f"cannot write image '{path}': expected a numpy array, got {type(array).__name__}"
        )
    if _max_value(array.dtype) is None:
        raise DistillsrError(
            f"cannot write image '{path}': dtype {array.dtype} is not supported "
            "(convert to uint8 or uint16 first, e.g. with from_float)"
        )
    array = array.astype(array.dtype.newbyteorder("="), copy=False)  # Pillow expects native order
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise DistillsrError(
            f"cannot write image '{path}': shape {array.shape} is not HxW, HxWx1, HxWx3 or HxWx4"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise DistillsrError(f"cannot write image '{path}': image has zero size {array.shape}")
    return np.ascontiguousarray(array)


def _check_quality(quality: int) -> None:
    """Pillow clamps or misreads out-of-range qualities silently; refuse them instead."""
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise DistillsrError(f"image quality must be an integer from 1 to 100, got {quality!r}")


_Encoder = Callable[[BinaryIO], object]


def _choose_encoder(
    path: Path, image_format: str, pixels: np.ndarray, quality: int, icc_profile: bytes | None
) -> _Encoder:
    """Pick the encoder up front so every refusal happens before any file is created."""
    is_colour = pixels.ndim == 3
    has_alpha = is_colour and pixels.shape[2] == 4
    if pixels.dtype == np.uint16:
        if image_format == "PNG" and is_colour:
            return lambda stream: stream.write(encode_png16(pixels, icc_profile=icc_profile))
        if image_format not in ("PNG", "TIFF") or is_colour:
            layout = "RGBA" if has_alpha else "RGB" if is_colour else "greyscale"
            raise DistillsrError(
                f"cannot write image '{path}': 16-bit {layout} data cannot be written as "
                f"{image_format} (write PNG, or convert to uint8 first)"
            )
    elif image_format == "JPEG" and has_alpha:
        raise DistillsrError(
            f"cannot write image '{path}': JPEG cannot store an alpha channel "
            "(drop it or write PNG)"
        )
    options = _pillow_options(image_format, quality, icc_profile)
    return lambda stream: _pillow_image(pixels).save(stream, format=image_format, **options)


def _pillow_options(
    image_format: str, quality: int, icc_profile: bytes | None
) -> dict[str, object]:
    """Only pass options a format understands; Pillow ignores some and rejects others."""
    options: dict[str, object] = {}
    if image_format in ("JPEG", "WEBP"):
        options["quality"] = quality
    if icc_profile is not None and image_format != "BMP":
        options["icc_profile"] = icc_profile
    return options


def _pillow_image(pixels: np.ndarray) -> Image.Image:
    """Give Pillow little-endian 16-bit data, the layout it maps to mode 'I;16' on any host."""
    if pixels.dtype == np.uint16:
        pixels = pixels.astype("<u2", copy=False)
    return Image.fromarray(pixels)


def _atomic_write(path: Path, encoder: _Encoder) -> None:
    """Write through :func:`distillsr.atomic.atomic_write`, wording OS failures for the user."""
    try:
        atomic_write(path, encoder)
    except OSError as exc:
        raise DistillsrError(f"cannot write image '{path}': {exc.strerror or exc}") from exc


# --------------------------------------------------------------------------------------------------
# Conversions and folder listing
# --------------------------------------------------------------------------------------------------


def _max_value(dtype: np.dtype) -> int | None:
    """Full-scale value for uint8/uint16 in either byte order; None for dtypes images cannot be."""
    if dtype.kind != "u":
        return None
    return _MAX_VALUE.get(dtype.itemsize)


def to_float(array: np.ndarray) -> np.ndarray:
    """Scale integer pixels to float64 in [0, 1] so models and metrics share one value range."""
    max_value = _max_value(np.asarray(array).dtype)
    if max_value is None:
        raise DistillsrError(f"to_float expects uint8 or uint16 pixels, got dtype {array.dtype}")
    return np.asarray(array, dtype=np.float64) / max_value


def from_float(array: np.ndarray, dtype: DTypeLike) -> np.ndarray:
    """Map [0, 1] floats back to pixels, clipping overshoot and rounding half away from zero.

    Rounding half up (rather than numpy's half-to-even) matches what most image tools and
    reference metric implementations do, so saved outputs compare equal with theirs.
    """
    target = np.dtype(dtype)
    max_value = _max_value(target)
    if max_value is None:
        raise DistillsrError(f"from_float can produce uint8 or uint16, not {target}")
    values = np.asarray(array, dtype=np.float64)
    if np.isnan(values).any():
        raise DistillsrError("from_float got NaN values; the image data is invalid")
    clipped = np.clip(values, 0.0, 1.0)
    return np.floor(clipped * max_value + 0.5).astype(target)


def list_images(folder: PathLike) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name, for deterministic dataset order.

    Hidden files (name starting with '.') are skipped: they are OS metadata such as macOS
    '._x.png' or in-progress temporary files from :func:`write_image`, never real images.
    """
    folder = Path(folder)
    if not folder.exists():
        raise DataError(f"image folder '{folder}' does not exist")
    if not folder.is_dir():
        raise DataError(f"image folder '{folder}' is not a directory")
    images = [entry for entry in folder.iterdir() if _is_listed_image(entry)]
    return sorted(images, key=lambda entry: entry.name)


def _is_listed_image(entry: Path) -> bool:
    """Case-insensitive suffix match, so 'IMG.PNG' from cameras and Windows tools is included."""
    return (
        not entry.name.startswith(".")
        and entry.suffix.lower() in IMAGE_SUFFIXES
        and entry.is_file()
    )
