"""Content hashes of pixel arrays: the identity of an image for caches and seeded noise."""

from __future__ import annotations

import hashlib

import numpy as np


def image_digest(image: np.ndarray) -> str:
    """SHA-256 of an array's dtype, shape and pixels (hex).

    Hashing decoded pixels rather than file bytes means a re-saved or re-compressed copy of the same
    image shares cache entries, and an EXIF rotation gives a different identity.
    """
    array = np.ascontiguousarray(image)
    digest = hashlib.sha256()
    digest.update(f"{array.dtype.str}|{array.shape}|".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()
