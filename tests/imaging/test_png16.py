"""distillsr.imaging.png16: 16-bit RGB/RGBA PNGs that any decoder reads back bit for bit.

The decoder below is written from the PNG specification (chunks, CRC, zlib, all five filter types)
and shares nothing with the encoder, so an error in the filter, byte order or chunk layout shows.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from distillsr.imaging.png16 import PNG_SIGNATURE, encode_png16

_CHANNELS = {2: 3, 6: 4}


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, position = [], 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        payload = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(kind + payload), f"bad CRC on {kind!r}"
        chunks.append((kind, payload))
        position += 12 + length
    assert position == len(data)
    return chunks


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _unfilter(raw: bytes, height: int, stride: int, bpp: int) -> list[bytearray]:
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            upper_left = previous[i - bpp] if i >= bpp else 0
            predictor = [0, left, up, (left + up) // 2, _paeth(left, up, upper_left)][kind]
            line[i] = (line[i] + predictor) & 0xFF
        rows.append(line)
        previous = line
    return rows


def decode(data: bytes) -> tuple[np.ndarray, dict]:
    chunks = _chunks(data)
    kinds = [kind for kind, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, compression, filtering, interlace) == (16, 0, 0, 0)
    channels = _CHANNELS[colour]
    info: dict = {"colour_type": colour, "kinds": kinds}
    for kind, payload in chunks:
        if kind == b"iCCP":
            assert kinds.index(b"iCCP") < kinds.index(b"IDAT"), "iCCP must precede the image data"
            name, rest = payload.split(b"\x00", 1)
            assert 1 <= len(name) <= 79 and rest[0] == 0  # compression method 0 = zlib
            info["icc_name"], info["icc_profile"] = name, zlib.decompress(rest[1:])
    raw = zlib.decompress(b"".join(payload for kind, payload in chunks if kind == b"IDAT"))
    stride = width * channels * 2
    assert len(raw) == height * (stride + 1)
    rows = _unfilter(raw, height, stride, channels * 2)
    info["filters"] = {raw[y * (stride + 1)] for y in range(height)}
    samples = [struct.unpack(f">{width * channels}H", bytes(row)) for row in rows]
    return np.array(samples, dtype=np.uint16).reshape(height, width, channels), info


def _pixels(rng, shape) -> np.ndarray:
    """Random samples plus the byte-order traps 0, 255, 256, 65280 and 65535."""
    pixels = rng.integers(0, 65536, shape, dtype=np.uint16)
    pixels.flat[:5] = [0, 255, 256, 65280, 65535]
    return pixels


@pytest.mark.parametrize("channels,colour_type", [(3, 2), (4, 6)])
@pytest.mark.parametrize("size", [(1, 1), (1, 5), (6, 1), (5, 7)])
def test_pixels_decode_bit_exactly(rng, channels, colour_type, size):
    pixels = _pixels(rng, (*size, channels))
    decoded, info = decode(encode_png16(pixels))
    np.testing.assert_array_equal(decoded, pixels)
    assert info["colour_type"] == colour_type
    assert info["kinds"] == [b"IHDR", b"IDAT", b"IEND"]


def test_rows_use_the_up_filter(rng):
    _, info = decode(encode_png16(_pixels(rng, (4, 3, 3))))
    assert info["filters"] == {2}


def test_icc_profile_is_embedded_before_the_pixels(rng):
    profile = bytes(range(256)) * 5
    pixels = _pixels(rng, (3, 4, 3))
    decoded, info = decode(encode_png16(pixels, icc_profile=profile))
    np.testing.assert_array_equal(decoded, pixels)
    assert info["kinds"] == [b"IHDR", b"iCCP", b"IDAT", b"IEND"]
    assert info["icc_profile"] == profile and info["icc_name"] == b"ICC Profile"


def test_non_native_and_non_contiguous_input(rng):
    pixels = _pixels(rng, (5, 8, 4))
    view = pixels.astype(">u2")[::-1, ::2]
    decoded, _ = decode(encode_png16(view))
    np.testing.assert_array_equal(decoded, pixels[::-1, ::2])


def test_smooth_images_compress(rng):
    ramp = (np.arange(64, dtype=np.uint16)[:, None, None] * 1000 + np.zeros((64, 64, 3), np.uint16))
    assert len(encode_png16(ramp)) < ramp.nbytes // 20
    assert encode_png16(ramp).startswith(PNG_SIGNATURE)
