"""Image files built by hand for the imaging tests (``from imaging.image_files import ...``).

16-bit PNGs, TIFFs and EXIF blocks are written here with zlib and struct, independently of
distillsr's own encoder, so the reader is checked against the file formats rather than against
itself. Only helpers live here; the tests are in the ``test_<module>.py`` files beside it.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

ADAM7_PASSES = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)
PNG_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}
EXIF_ORIENTATION = 0x0112


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(kind + payload))
    return struct.pack(">I", len(payload)) + kind + payload + crc


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _filter_row(kind: int, row: bytes, prior: bytes, bpp: int) -> bytes:
    """Apply one PNG filter type to one row of raw bytes (reference, byte by byte)."""
    out = bytearray()
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prior[i]
        c = prior[i - bpp] if i >= bpp else 0
        predictor = (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]
        out.append((x - predictor) % 256)
    return bytes([kind]) + bytes(out)


def _filtered_scanlines(pixels: np.ndarray, first_filter: int = 0) -> bytes:
    """Serialise big-endian 16-bit rows, cycling through all five filter types."""
    height = pixels.shape[0]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    rows = pixels.astype(">u2").reshape(height, -1).view(np.uint8)
    bpp = 2 * channels
    prior = bytes(rows.shape[1])
    out = b""
    for y in range(height):
        row = rows[y].tobytes()
        out += _filter_row((first_filter + y) % 5, row, prior, bpp)
        prior = row
    return out


def make_png16(pixels: np.ndarray, *, interlaced: bool = False, extra_chunks: bytes = b"") -> bytes:
    """A 16-bit PNG of any colour type, optionally Adam7-interlaced, written by hand."""
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    if interlaced:
        data = b""
        for index, (x0, y0, dx, dy) in enumerate(ADAM7_PASSES):
            sub = pixels[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                data += _filtered_scanlines(sub, first_filter=index)
    else:
        data = _filtered_scanlines(pixels)
    colour_type = PNG_COLOUR_TYPE[channels]
    ihdr = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, int(interlaced))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + extra_chunks
        + png_chunk(b"IDAT", zlib.compress(data, 9))
        + png_chunk(b"IEND", b"")
    )


def make_tiff16_rgb(pixels: np.ndarray, byte_order: str, *, deflate: bool = False) -> bytes:
    """A single-strip 16-bit RGB TIFF in either byte order, raw or deflated, written by hand.

    Pillow decodes raw strips itself but hands deflated ones to libtiff, a different code path.
    """
    e = "<" if byte_order == "II" else ">"
    height, width, _ = pixels.shape
    image_data = pixels.astype(e + "u2").tobytes()
    if deflate:
        image_data = zlib.compress(image_data)
    entries = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 3, None),  # BitsPerSample -> points at three SHORTs
        (259, 3, 1, 8 if deflate else 1),  # Adobe deflate or none
        (262, 3, 1, 2),  # RGB
        (273, 4, 1, None),  # StripOffsets -> image data
        (277, 3, 1, 3),
        (278, 4, 1, height),
        (279, 4, 1, len(image_data)),
        (284, 3, 1, 1),  # chunky
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    bits_offset = 8 + ifd_size
    data_offset = bits_offset + 6
    ifd = struct.pack(e + "H", len(entries))
    for tag, kind, count, value in entries:
        if tag == 258:
            value = bits_offset
        elif tag == 273:
            value = data_offset
        if kind == 3 and count == 1:
            ifd += struct.pack(e + "HHIHH", tag, kind, count, value, 0)
        else:
            ifd += struct.pack(e + "HHII", tag, kind, count, value)
    ifd += struct.pack(e + "I", 0)
    header = byte_order.encode() + struct.pack(e + "HI", 42, 8)
    return header + ifd + struct.pack(e + "HHH", 16, 16, 16) + image_data


def distinct_bytes_u16(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """16-bit values whose high and low bytes differ, so swapping or dropping a byte shows."""
    rng = np.random.default_rng(seed)
    high = rng.integers(0, 256, size=shape)
    low = (high * 7 + 13 + rng.integers(1, 200, size=shape)) % 256
    low = np.where(low == high, (low + 1) % 256, low)
    return (high * 256 + low).astype(np.uint16)


def asymmetric_rgb(height: int = 6, width: int = 9) -> np.ndarray:
    """No rotation or flip of this image equals another one."""
    return np.arange(height * width * 3, dtype=np.uint8).reshape(height, width, 3)


def palette_image() -> tuple[Image.Image, np.ndarray, np.ndarray]:
    """A 3x2 palette image, its indices and its palette (red, green, blue)."""
    indices = np.array([[0, 1, 2], [2, 1, 0]], dtype=np.uint8)
    palette = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]], dtype=np.uint8)
    image = Image.frombytes("P", (3, 2), indices.tobytes())
    image.putpalette(palette.flatten().tolist())
    return image, indices, palette


def exif_with_orientation(orientation: int) -> Image.Exif:
    """An EXIF block, built by Pillow, holding only the orientation tag."""
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    return exif


def exif_tiff_block(orientation: int, *, tag_type: int = 3, empty_gps_version: bool = False) -> bytes:
    """A little-endian EXIF (TIFF) block, without the 'Exif\\0\\0' prefix, written by hand.

    ``tag_type`` is the TIFF type the orientation is stored as: 3 = SHORT, as EXIF says; the odd
    ones cameras and tools produce are 2 = ASCII (one digit), 4 = LONG, 5 = RATIONAL
    (``orientation``/1) and 7 = UNDEFINED (four bytes). ``empty_gps_version`` adds a GPS IFD whose
    GPSVersionID is an empty ASCII string: a block Pillow reads fine but cannot write back (see
    ``distillsr.imaging.orientation``).
    """
    count = 2 if empty_gps_version else 1
    after_ifd0 = 8 + 2 + 12 * count + 4  # header, entry count, entries, next-IFD offset
    values = {
        3: (1, struct.pack("<HH", orientation, 0)),
        2: (2, str(orientation)[:1].encode() + bytes(3)),
        4: (1, struct.pack("<I", orientation)),
        5: (1, struct.pack("<I", after_ifd0)),  # points at the rational stored after the IFD
        7: (4, struct.pack("<I", orientation)),
    }
    value_count, value = values[tag_type]
    entries = struct.pack("<HHI", EXIF_ORIENTATION, tag_type, value_count) + value
    extra = struct.pack("<II", orientation, 1) if tag_type == 5 else b""
    if empty_gps_version:
        entries += struct.pack("<HHII", 0x8825, 4, 1, after_ifd0 + len(extra))
        extra += struct.pack("<HHHI", 1, 0x0000, 2, 1) + bytes(4) + struct.pack("<I", 0)
    ifd0 = struct.pack("<H", count) + entries + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd0 + extra


def with_png_chunk_after_header(png: bytes, chunk: bytes) -> bytes:
    """Insert a ready-made chunk straight after IHDR (signature 8 + IHDR chunk 25 bytes)."""
    return png[:33] + chunk + png[33:]


def png_bytes(array: np.ndarray) -> bytes:
    """``array`` saved as a PNG by Pillow (8-bit or 16-bit grey)."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()
