"""Compatibility re-export: removed at integration.

The former ``imaging/io.py`` is split into :mod:`~distillsr.imaging.read`,
:mod:`~distillsr.imaging.write`, :mod:`~distillsr.imaging.pixels`,
:mod:`~distillsr.imaging.listing` and :mod:`~distillsr.imaging.decoded_image` (with the steps in
``decode16``, ``modes`` and ``orientation``); import from those instead.
"""

from __future__ import annotations

from distillsr.imaging.decoded_image import DecodedImage
from distillsr.imaging.listing import IMAGE_SUFFIXES, list_images
from distillsr.imaging.pixels import from_float, to_float
from distillsr.imaging.read import read_image, read_image_with_info
from distillsr.imaging.write import write_image

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
