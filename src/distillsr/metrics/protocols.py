"""Named scoring protocols, so that every number says how it was measured.

Two papers' "PSNR" differ by up to a dB depending on colour space, border and rounding; a score
without its protocol is meaningless. A :class:`Protocol` fixes all of it:

* ``classic`` — the papers' tables: SR quantised to the HR bit depth, Y channel of MATLAB's BT.601
  transform (float64, not rounded), ``border = scale`` pixels removed on each side.
* ``ntire`` — the NTIRE efficient-SR challenge kit: quantised, RGB, border 4.

Greyscale ground truth is scored on its single channel; a three-channel SR output is first
brought to one channel with :func:`~distillsr.imaging.color.rgb_to_grey` (no studio offset).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from distillsr.errors import DistillsrError
from distillsr.imaging.color import rgb_to_grey, rgb_to_y
from distillsr.imaging.pixels import from_float
from distillsr.metrics.psnr import check_same_shape, psnr
from distillsr.metrics.ssim import ssim


@dataclass(frozen=True)
class Protocol:
    """How SR output is compared with ground truth."""

    name: str
    channels: Literal["y", "rgb"]
    border: int | Literal["scale"]
    description: str

    def border_for(self, scale: int) -> int:
        return scale if self.border == "scale" else int(self.border)


CLASSIC = Protocol("classic", "y", "scale", "8-bit SR, Y (MATLAB BT.601) in float64, border = scale")
NTIRE = Protocol("ntire", "rgb", 4, "8-bit SR, RGB, border 4 (NTIRE efficient-SR kit)")

PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (CLASSIC, NTIRE)}


def get_protocol(name: str | Protocol) -> Protocol:
    """Look a protocol up by name, with a message that lists the valid names."""
    if isinstance(name, Protocol):
        return name
    try:
        return PROTOCOLS[name.lower()]
    except KeyError:
        raise DistillsrError(f"unknown protocol {name!r}; choose one of: {', '.join(PROTOCOLS)}") from None


@dataclass(frozen=True)
class Score:
    """One image's (or a mean) PSNR/SSIM, tagged with the protocol that produced it."""

    psnr: float
    ssim: float
    protocol: str

    def __str__(self) -> str:
        return f"{self.psnr:.4f} dB / {self.ssim:.5f} ({self.protocol})"


def _as_255_scale(image: np.ndarray) -> np.ndarray:
    """Integer images on the 0-255 scale in float64, whatever their bit depth."""
    maxval = np.iinfo(image.dtype).max
    return image.astype(np.float64) * (255.0 / maxval)


def _to_scored_channels(image: np.ndarray, channels: str, ground_truth_is_grey: bool) -> np.ndarray:
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        return image
    if ground_truth_is_grey:
        return rgb_to_grey(image)
    if channels == "y":
        return rgb_to_y(image, value_range=255.0)
    return image


def prepare_for_scoring(sr: np.ndarray, hr: np.ndarray, protocol: Protocol, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """The two float64 arrays (0-255 scale, cropped) that the protocol compares."""
    hr = np.asarray(hr)
    sr = np.asarray(sr)
    if not np.issubdtype(hr.dtype, np.integer):
        raise DistillsrError(f"ground truth must be an integer image (uint8/uint16), got {hr.dtype}")
    if np.issubdtype(sr.dtype, np.floating):
        sr = from_float(sr, hr.dtype)  # clipped, rounded half away from zero
    elif sr.dtype != hr.dtype:
        raise DistillsrError(f"SR image is {sr.dtype} but ground truth is {hr.dtype}")
    if sr.shape[:2] != hr.shape[:2]:
        raise DistillsrError(f"SR size {sr.shape[:2]} differs from ground-truth size {hr.shape[:2]}")
    hr_is_grey = hr.ndim == 2 or hr.shape[2] == 1
    # Alpha is not part of any benchmark: score colour only.
    if sr.ndim == 3 and sr.shape[2] == 4:
        sr = sr[..., :3]
    if hr.ndim == 3 and hr.shape[2] == 4:
        hr = hr[..., :3]
    a = _to_scored_channels(_as_255_scale(sr), protocol.channels, hr_is_grey)
    b = _to_scored_channels(_as_255_scale(hr), protocol.channels, hr_is_grey)
    check_same_shape(a, b, f"{protocol.name} protocol")
    border = protocol.border_for(scale)
    if border:
        if 2 * border >= min(a.shape[:2]):
            raise DistillsrError(f"image of size {a.shape[:2]} is too small for a border of {border}")
        a = a[border:-border, border:-border]
        b = b[border:-border, border:-border]
    return a, b


def score(sr: np.ndarray, hr: np.ndarray, protocol: str | Protocol, scale: int) -> Score:
    """PSNR and SSIM of one SR image against its ground truth under a named protocol.

    ``sr`` is either a float image in [0, 1] (a model's output; quantised here to the bit depth of
    ``hr``) or an integer image of the same dtype as ``hr``.
    """
    protocol = get_protocol(protocol)
    a, b = prepare_for_scoring(sr, hr, protocol, scale)
    return Score(psnr=psnr(a, b, 255.0), ssim=ssim(a, b, 255.0), protocol=protocol.name)


def mean_score(scores: list[Score]) -> Score:
    """Mean PSNR and mean SSIM over images (the per-set number papers print)."""
    if not scores:
        raise DistillsrError("cannot average an empty list of scores")
    names = {s.protocol for s in scores}
    if len(names) != 1:
        raise DistillsrError(f"cannot average scores from different protocols: {sorted(names)}")
    return Score(
        psnr=float(np.mean([s.psnr for s in scores])),
        ssim=float(np.mean([s.ssim for s in scores])),
        protocol=names.pop(),
    )
