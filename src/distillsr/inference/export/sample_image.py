"""The image verification runs on: the user's own, or a built-in synthetic pattern.

An installed distillsr has no test photos, so it never looks for any: without an image from the
user it verifies on a deterministic pattern of gradients, rings and edges, which exercises
interpolation, sharp transitions and smooth areas. Layers that depend on image statistics
(IMDN's contrast pooling, DDistill-SR's dynamic branch) are exercised more realistically by a real
photo, so ``distillsr export --verify-image FILE`` takes one; the report says which was used.
"""

from __future__ import annotations

import numpy as np

from distillsr.errors import DistillsrError

SYNTHETIC_PATTERN = "synthetic pattern (gradients, rings and edges)"


def synthetic_image(size: int) -> np.ndarray:
    """Smooth gradients, rings and sharp edges: deterministic content with SR-relevant structure."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) / max(size - 1, 1)
    rings = 0.5 + 0.5 * np.sin(40.0 * np.hypot(x - 0.4, y - 0.6))
    edges = ((x * 8).astype(int) + (y * 5).astype(int)) % 2
    rgb = np.stack([0.6 * x + 0.4 * rings, 0.5 * rings + 0.5 * edges, 0.3 + 0.4 * y * edges], axis=-1)
    return np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def centre_crop(image: np.ndarray, size: int) -> np.ndarray:
    """The middle ``size x size`` (or less, along a side shorter than ``size``), contiguous."""
    height, width = image.shape[:2]
    top, left = max(0, (height - size) // 2), max(0, (width - size) // 2)
    return np.ascontiguousarray(image[top : top + size, left : left + size])


def _for_channels(image: np.ndarray, channels: int, what: str) -> np.ndarray:
    """``image`` (``HxWxC``, alpha already gone) with the model's channel count.

    A one-channel model gets the luma of a colour image, rounded back to the image's integer
    type, since a photo is what it would be given in use; everything else follows
    :func:`~distillsr.imaging.tensors.match_channels` (grey replicated, other mismatches refused).
    """
    from distillsr.imaging.tensors import match_channels

    if channels == 1 and image.shape[2] == 3:
        from distillsr.imaging.color import rgb_to_grey

        grey = rgb_to_grey(image)
        if np.issubdtype(image.dtype, np.integer):
            grey = np.round(grey).astype(image.dtype)
        return np.ascontiguousarray(grey[..., None])
    try:
        return np.ascontiguousarray(match_channels(image, channels))
    except DistillsrError as error:
        raise DistillsrError(f"{what} does not fit this model: {error}") from None


def verification_image(
    channels: int = 3,
    size: int = 64,
    *,
    image: np.ndarray | None = None,
    name: str | None = None,
    min_size: int = 1,
) -> tuple[np.ndarray, str]:
    """A verification image for :func:`export_onnx` with ``channels`` channels, and what it is.

    Without ``image``, the ``size x size`` synthetic pattern. With one (as read by
    :func:`~distillsr.imaging.read.read_image`; ``name`` labels it, usually its path), its
    centre ``size x size`` crop, alpha dropped and grey replicated for a colour model. An image
    too small for two verification sizes at ``min_size`` is refused here, naming it, rather
    than after the export has been traced.
    """
    from distillsr.imaging.tensors import match_channels
    from distillsr.inference.export.verify import second_size, too_small

    if image is None:
        if channels not in (1, 3):
            raise DistillsrError(f"no built-in verification image for a {channels}-channel model; pass one")
        return _for_channels(synthetic_image(size), channels, "the synthetic pattern"), f"{size}x{size} {SYNTHETIC_PATTERN}"
    what = f"the verification image {name}" if name else "the verification image"
    try:
        colours = match_channels(image, None)  # HxW -> HxWx1, alpha dropped
    except DistillsrError as error:
        raise DistillsrError(f"{what}: {error}") from None
    height, width = colours.shape[:2]
    crop = centre_crop(colours, size)
    if second_size(crop.shape[0], crop.shape[1], min_size) is None:
        raise too_small(what, height, width, min_size)
    label = f"{crop.shape[0]}x{crop.shape[1]} centre crop of {name or 'the given image'}"
    return _for_channels(crop, channels, what), label
