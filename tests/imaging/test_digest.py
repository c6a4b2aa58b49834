"""distillsr.imaging.digest: a stable identity of decoded pixels (LR caches and seeded noise key on it)."""

from __future__ import annotations

import hashlib

import numpy as np

from distillsr.imaging.digest import image_digest


def _image() -> np.ndarray:
    return np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)


def test_the_digest_is_sha256_of_dtype_shape_and_pixels():
    image = _image()
    expected = hashlib.sha256(b"|u1|(2, 3, 3)|" + bytes(range(18))).hexdigest()
    assert image_digest(image) == expected


def test_equal_pixels_give_equal_digests_whatever_the_memory_layout():
    image = _image()
    assert image_digest(image) == image_digest(image.copy())
    flipped = image[:, ::-1]  # a non-contiguous view
    assert image_digest(flipped) == image_digest(np.ascontiguousarray(flipped))
    fortran = np.asfortranarray(image)
    assert image_digest(fortran) == image_digest(image)


def test_one_changed_pixel_changes_the_digest():
    image = _image()
    changed = image.copy()
    changed[1, 2, 0] += 1
    assert image_digest(changed) != image_digest(image)


def test_dtype_and_shape_are_part_of_the_identity():
    image = _image()
    assert image_digest(image.reshape(3, 2, 3)) != image_digest(image)  # same bytes, other shape
    assert image_digest(image.reshape(6, 3)) != image_digest(image)
    assert image_digest(image.view(np.int8)) != image_digest(image)  # same bytes, other dtype
    assert image_digest(image.astype(np.uint16)) != image_digest(image)  # same values, other depth


def test_the_digest_is_hex_and_does_not_touch_the_array():
    image = _image()
    before = image.copy()
    digest = image_digest(image)
    assert len(digest) == 64 and int(digest, 16) >= 0
    np.testing.assert_array_equal(image, before)
