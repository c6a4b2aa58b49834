"""EXIF orientation: read it leniently from the file, apply it to the decoded array in NumPy.

Why not :func:`PIL.ImageOps.exif_transpose`? It was tried against every case the reader has to
serve, and three facts decided against it (each is pinned by a test in
``tests/imaging/test_orientation.py``):

* **It fails good images on metadata it does not need.** After transposing, it rewrites the EXIF
  block without the orientation tag (``Exif.tobytes``), and that re-serialisation raises on blocks
  Pillow reads without complaint, e.g. a GPS IFD whose ``GPSVersionID`` is stored as an empty
  ASCII string (``TypeError`` in Pillow 13). The orientation itself is perfectly readable there,
  so wrapping the call and falling back to "not rotated" would return wrong pixels, and not
  wrapping it would make the image unreadable. A block that is garbage from the start makes it
  raise too (``SyntaxError: not a TIFF file``), where we want "no orientation".
* **Our 16-bit decodes never become one Pillow image.** 16-bit colour is two 8-bit decodes
  (high and low bytes) and 16-bit grey+alpha is an 8-bit RGBA view of the raw bytes
  (:mod:`distillsr.imaging.decode16`), so ``exif_transpose`` would have to run on each of them
  (reading and rewriting the EXIF twice) before the halves are combined. One NumPy transform on
  the finished array serves 8- and 16-bit data of any channel count alike, costs only views, and
  the single ``np.ascontiguousarray`` the reader does anyway makes the one copy.
* **What counts as an orientation.** We take only an integer 2..8 (EXIF's SHORT); anything else
  (0, 9, a string, bytes, a rational) means "as stored". ``exif_transpose`` looks its value up in a
  dict, so a non-standard RATIONAL 6/1 would rotate there but not here; keeping integers only
  preserves what :func:`~distillsr.imaging.read.read_image` has always returned.

Both read the orientation through ``Image.getexif()``, so XMP-only orientation (``tiff:Orientation``
in an XMP packet, which Pillow folds into ``getexif``) is honoured either way, and the transforms
below are checked pixel for pixel against ``exif_transpose`` for all eight values.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

__all__ = ["apply_orientation", "exif_orientation"]

_EXIF_ORIENTATION_TAG = 0x0112

# EXIF orientation -> the array transform that makes the stored image upright (1 needs none).
_TRANSFORMS: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


def exif_orientation(image: Image.Image) -> int:
    """EXIF (or XMP) orientation, 1 when absent; unreadable metadata must not fail a good image."""
    try:
        value = image.getexif().get(_EXIF_ORIENTATION_TAG, 1)
    except Exception:  # noqa: BLE001 - corrupt EXIF blocks raise assorted errors
        return 1
    return value if isinstance(value, int) and value in _TRANSFORMS else 1


def apply_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    """``array`` (``HxW`` or ``HxWxC``) turned upright; a view, not necessarily contiguous."""
    transform = _TRANSFORMS.get(orientation)
    return array if transform is None else transform(array)
