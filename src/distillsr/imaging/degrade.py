"""The degradations SR papers define: BI, BD and DN, as their MATLAB scripts make them.

* **BI** — ``imresize(HR, 1/s, 'bicubic')``.
* **BD** — ``imfilter(HR, fspecial('gaussian', 7, 1.6), 'replicate')``, then
  ``imresize(blurred, 1/s, 'nearest')`` (the RDN protocol, also used by DDistill-SR).
* **DN** — ``imresize(HR, 1/s, 'bicubic')``, then ``+ 30 * randn``, rounded and clipped to uint8.

Each is a frozen dataclass: picklable (DataLoader workers), comparable, and it has a
``cache_key`` naming every parameter so cached LR images of different settings never mix. The HR
image must already be cropped to a multiple of the scale (:func:`modcrop`).

Integer images are rounded after every MATLAB step, as MATLAB does on uint8; float images stay
float. DN's noise is seeded by ``seed`` *and* the image's content, so an image gets the same noise
whatever order or worker processes it, and two images never share a noise field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol as TypingProtocol

import numpy as np

from distillsr.errors import DistillsrError
from distillsr.imaging.digest import image_digest
from distillsr.imaging.resize import imresize
from distillsr.imaging.rounding import matlab_cast


class Degradation(TypingProtocol):
    """What the data pipeline needs of a degradation."""

    name: str
    scale: int

    @property
    def cache_key(self) -> str: ...

    def __call__(self, hr: np.ndarray) -> np.ndarray: ...


def modcrop(image: np.ndarray, scale: int) -> np.ndarray:
    """Crop to a multiple of ``scale`` keeping the top-left corner, as the benchmark scripts do."""
    height = image.shape[0] - image.shape[0] % scale
    width = image.shape[1] - image.shape[1] % scale
    if height == 0 or width == 0:
        raise DistillsrError(f"image of size {image.shape[0]}x{image.shape[1]} is smaller than the scale {scale}")
    return image[:height, :width]


def _check_input(hr: np.ndarray, scale: int, name: str) -> None:
    if hr.ndim not in (2, 3):
        raise DistillsrError(f"{name} degradation expects an HxW or HxWxC image, got shape {hr.shape}")
    if hr.shape[0] % scale or hr.shape[1] % scale:
        raise DistillsrError(
            f"{name} degradation needs an image cropped to a multiple of the scale {scale} "
            f"(use modcrop), got {hr.shape[0]}x{hr.shape[1]}"
        )


def _check_scale(scale: int) -> None:
    if not isinstance(scale, (int, np.integer)) or isinstance(scale, bool) or scale < 1:
        raise DistillsrError(f"scale must be a positive integer, got {scale!r}")


def _round_like(values: np.ndarray, like: np.dtype) -> np.ndarray:
    """MATLAB's cast to an integer class (half away from zero, saturated); floats pass through."""
    if not np.issubdtype(like, np.integer):
        return values
    return matlab_cast(values, like)


def gaussian_kernel_1d(size: int, sigma: float) -> np.ndarray:
    """The 1-D factor of MATLAB's ``fspecial('gaussian', size, sigma)`` (separable, normalised)."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def gaussian_blur_replicate(image: np.ndarray, size: int, sigma: float) -> np.ndarray:
    """``imfilter(image, fspecial('gaussian', size, sigma), 'replicate')`` in float64, separably."""
    kernel = gaussian_kernel_1d(size, sigma)
    radius = size // 2
    blurred = image.astype(np.float64)
    for axis in (0, 1):
        pad = [(0, 0)] * blurred.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(blurred, pad, mode="edge")
        length = blurred.shape[axis]
        out = np.zeros_like(blurred)
        for tap in range(size):
            out += kernel[tap] * np.take(padded, np.arange(tap, tap + length), axis=axis)
        blurred = out
    return blurred


@dataclass(frozen=True)
class BicubicDown:
    """BI: MATLAB bicubic downscale by ``1/scale``."""

    scale: int
    name: str = "BI"

    def __post_init__(self) -> None:
        _check_scale(self.scale)

    @property
    def cache_key(self) -> str:
        return f"BI-x{self.scale}"

    def __call__(self, hr: np.ndarray) -> np.ndarray:
        _check_input(hr, self.scale, self.name)
        return imresize(hr, 1 / self.scale)


@dataclass(frozen=True)
class BlurDown:
    """BD: 7x7 Gaussian blur (sigma 1.6, replicate padding), then MATLAB 'nearest' downsampling."""

    scale: int
    sigma: float = 1.6
    kernel_size: int = 7
    name: str = "BD"

    def __post_init__(self) -> None:
        _check_scale(self.scale)
        if self.kernel_size < 1 or self.kernel_size % 2 == 0 or self.sigma <= 0:
            raise DistillsrError(f"BD needs an odd kernel size and a positive sigma, got {self.kernel_size}, {self.sigma}")

    @property
    def cache_key(self) -> str:
        return f"BD-x{self.scale}-k{self.kernel_size}-s{self.sigma:g}"

    def __call__(self, hr: np.ndarray) -> np.ndarray:
        _check_input(hr, self.scale, self.name)
        blurred = _round_like(gaussian_blur_replicate(hr, self.kernel_size, self.sigma), hr.dtype)
        return imresize(blurred, 1 / self.scale, method="nearest")


@dataclass(frozen=True)
class NoisyDown:
    """DN: bicubic downscale, then additive Gaussian noise of ``sigma`` on the 0-255 scale."""

    scale: int
    sigma: float = 30.0
    seed: int = 0
    name: str = "DN"

    def __post_init__(self) -> None:
        _check_scale(self.scale)
        if self.sigma < 0:
            raise DistillsrError(f"DN noise sigma must be non-negative, got {self.sigma}")

    @property
    def cache_key(self) -> str:
        return f"DN-x{self.scale}-s{self.sigma:g}-seed{self.seed}"

    def noise_generator(self, hr: np.ndarray) -> np.random.Generator:
        """A generator seeded by ``seed`` and the image content (order- and worker-independent)."""
        content = int(image_digest(hr)[:16], 16)
        return np.random.default_rng([int(self.seed) & 0xFFFFFFFFFFFFFFFF, content])

    def __call__(self, hr: np.ndarray) -> np.ndarray:
        _check_input(hr, self.scale, self.name)
        low = imresize(hr, 1 / self.scale)
        if np.issubdtype(hr.dtype, np.integer):
            sigma = self.sigma * np.iinfo(hr.dtype).max / 255.0
        else:
            sigma = self.sigma / 255.0
        noisy = low.astype(np.float64) + sigma * self.noise_generator(hr).standard_normal(low.shape)
        return _round_like(noisy, hr.dtype)


_DEGRADATIONS = {"BI": BicubicDown, "BD": BlurDown, "DN": NoisyDown}
DEGRADATION_NAMES = tuple(_DEGRADATIONS)


def get_degradation(name: str, scale: int, *, seed: int = 0) -> BicubicDown | BlurDown | NoisyDown:
    """Build a degradation by its paper name (case-insensitive)."""
    key = name.upper()
    if key not in _DEGRADATIONS:
        raise DistillsrError(f"unknown degradation {name!r}; choose one of: {', '.join(DEGRADATION_NAMES)}")
    if key == "DN":
        return NoisyDown(scale, seed=seed)
    return _DEGRADATIONS[key](scale)
