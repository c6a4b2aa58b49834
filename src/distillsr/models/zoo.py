"""The named models distillsr knows: an explicit table, built on demand.

Each entry maps a name to a builder and the facts a user needs before building it (scales,
input range, what it is). Nothing is imported or built until :func:`build_model` asks for it, and
there is no scanning of modules: adding a model means adding one row here.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Callable

from distillsr.errors import DistillsrError
from distillsr.models.sr_model import SRModel


@dataclass(frozen=True)
class ZooEntry:
    """A named model: how to build it at a scale, and its contract."""

    name: str
    description: str
    builder: Callable[[int], object]
    scales: tuple[int, ...] | None  # None: any integer scale
    input_range: float = 1.0
    in_channels: int | None = 3

    def supports(self, scale: int) -> bool:
        return self.scales is None or scale in self.scales


def _build_bicubic(scale: int):
    from distillsr.models.bicubic import BicubicUpsampler

    return BicubicUpsampler(scale)


ZOO: dict[str, ZooEntry] = {
    entry.name: entry
    for entry in (
        ZooEntry(
            name="bicubic",
            description="MATLAB-compatible bicubic upsampling (the baseline row of SR tables)",
            builder=_build_bicubic,
            scales=None,
            in_channels=None,
        ),
    )
}


def get_entry(name: str) -> ZooEntry:
    """The zoo entry for ``name``, or an error that suggests the nearest names."""
    key = name.lower()
    if key in ZOO:
        return ZOO[key]
    close = difflib.get_close_matches(key, list(ZOO), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known models: {', '.join(ZOO)}"
    raise DistillsrError(f"unknown model {name!r}{hint}")


def build_model(name: str, scale: int) -> SRModel:
    """Build a zoo model at ``scale`` as an :class:`SRModel` in eval mode."""
    entry = get_entry(name)
    if not isinstance(scale, int) or scale < 1:
        raise DistillsrError(f"scale must be a positive integer, got {scale!r}")
    if not entry.supports(scale):
        raise DistillsrError(f"model {entry.name} exists for scales {entry.scales}, not x{scale}")
    network = entry.builder(scale)
    return SRModel(
        network=network,
        name=entry.name,
        scale=scale,
        input_range=entry.input_range,
        in_channels=entry.in_channels,
    ).eval()
