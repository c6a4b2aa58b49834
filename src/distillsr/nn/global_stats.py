"""Whole-image statistics for layers that pool globally, so tiled inference can stay faithful.

IMDN's and RFDN's contrast-aware channel attention and DDistill-SR's dynamic branches average
over the *whole* feature map. A tile sees only part of it, so naive tiling changes their output
(DDistill-SR: 36-38 dB against the untiled result). Layers that pool globally call
:func:`spatial_moments` instead of ``x.mean``; normally that is exactly ``x.mean``. During tiled
inference a :class:`PoolingRecorder` is attached to those layers: it sums the moments over each
tile's *core* (the part no other tile owns), which adds up to whole-image moments, and on a later
pass it returns those whole-image moments instead of the tile's own. Repeating the pass converges
to the untiled result (see :mod:`distillsr.inference.tiling`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

RECORDER_ATTRIBUTE = "_pooling_recorder"


def spatial_moments(site: nn.Module, x: torch.Tensor, squares: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-channel mean (and mean of squares) over H x W, shape ``(N, C, 1, 1)``.

    ``site`` is the calling layer: its identity keys the recorded statistics.
    """
    recorder: PoolingRecorder | None = getattr(site, RECORDER_ATTRIBUTE, None)
    if recorder is not None:
        return recorder.moments(site, x, squares)
    mean = x.mean(dim=(2, 3), keepdim=True)
    return mean, (x * x).mean(dim=(2, 3), keepdim=True) if squares else None


def pooling_sites(model: nn.Module) -> list[nn.Module]:
    """The layers of ``model`` that pool over the whole feature map (they set ``pools_globally``)."""
    return [m for m in model.modules() if getattr(m, "pools_globally", False)]


def tile_aware_sites(model: nn.Module) -> list[nn.Module]:
    """Layers that need to know where a tile lies in the whole image (they set ``tile_aware``)."""
    return [m for m in model.modules() if getattr(m, "tile_aware", False) or getattr(m, "pools_globally", False)]


def tile_geometry(site: nn.Module) -> tuple[int, int, int, int] | None:
    """``(top, left, full_height, full_width)`` of the current tile, or None when not tiling."""
    recorder = getattr(site, RECORDER_ATTRIBUTE, None)
    return recorder.geometry if recorder is not None else None


@dataclass
class _Sums:
    first: torch.Tensor  # (C,) float64
    second: torch.Tensor | None
    count: int = 0


@dataclass
class PoolingRecorder:
    """Collects core-region moments per site, and injects whole-image moments when it has them.

    ``core`` is ``(top, left, height, width)`` of the current tile's core in the coordinates of the
    tile input; feature maps of pooling sites are at input resolution in every zoo model (a site
    at another resolution raises, rather than silently mixing coordinates).
    """

    core: tuple[int, int, int, int] | None = None
    input_size: tuple[int, int] | None = None
    geometry: tuple[int, int, int, int] | None = None  # tile (top, left) and whole-image (H, W)
    inject: dict[int, tuple[torch.Tensor, torch.Tensor | None]] = field(default_factory=dict)
    sums: dict[int, _Sums] = field(default_factory=dict)

    def moments(self, site: nn.Module, x: torch.Tensor, squares: bool):
        key = id(site)
        if self.core is not None:
            if self.input_size is not None and tuple(x.shape[-2:]) != self.input_size:
                raise RuntimeError(
                    f"{type(site).__name__} pools a {tuple(x.shape[-2:])} map inside a {self.input_size} tile: "
                    "whole-image statistics need pooling at input resolution"
                )
            self._record(key, x, squares)
        if key in self.inject:
            mean, second = self.inject[key]  # whole-image moments, one value per channel

            def per_sample(moment: torch.Tensor) -> torch.Tensor:
                return moment.to(x.dtype).reshape(1, -1, 1, 1).expand(x.shape[0], -1, 1, 1)

            second_out = per_sample(second) if squares and second is not None else None
            return per_sample(mean), second_out
        mean = x.mean(dim=(2, 3), keepdim=True)
        return mean, (x * x).mean(dim=(2, 3), keepdim=True) if squares else None

    def _record(self, key: int, x: torch.Tensor, squares: bool) -> None:
        top, left, height, width = self.core
        region = x[..., top : top + height, left : left + width].to(torch.float64)
        first = region.sum(dim=(0, 2, 3)).cpu()
        second = (region * region).sum(dim=(0, 2, 3)).cpu() if squares else None
        entry = self.sums.get(key)
        if entry is None:
            self.sums[key] = _Sums(first, second, region.shape[0] * height * width)
        else:
            entry.first += first
            if second is not None and entry.second is not None:
                entry.second += second
            entry.count += region.shape[0] * height * width

    def whole_image_moments(self) -> dict[int, tuple[torch.Tensor, torch.Tensor | None]]:
        """The recorded sums as means, ready to inject on the next pass."""
        return {
            key: (s.first / s.count, s.second / s.count if s.second is not None else None)
            for key, s in self.sums.items()
        }


class attached_recorder:
    """Context manager attaching one recorder to every pooling or tile-aware layer, and detaching it."""

    def __init__(self, model: nn.Module, recorder: PoolingRecorder) -> None:
        self.sites = tile_aware_sites(model)
        self.recorder = recorder

    def __enter__(self) -> PoolingRecorder:
        for site in self.sites:
            setattr(site, RECORDER_ATTRIBUTE, self.recorder)
        return self.recorder

    def __exit__(self, *exc) -> None:
        for site in self.sites:
            if hasattr(site, RECORDER_ATTRIBUTE):
                delattr(site, RECORDER_ATTRIBUTE)
