"""Attention layers of the lightweight SR families.

* :class:`ESA` — enhanced spatial attention (RFANet), as in RFDN / E-RFDN / DDistill-SR, and its
  lighter RLFN variant used by DIPNet (``light=True``: no ``conv_max``/``conv3_`` and no ReLUs).
* :class:`CCA` — IMDN's contrast-aware channel attention (mean + standard deviation pooling).

Submodule names follow the official checkpoints so their state dicts load key for key.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from distillsr.nn.global_stats import RECORDER_ATTRIBUTE, spatial_moments, tile_geometry


class ESA(nn.Module):
    """Enhanced spatial attention: a strided, pooled, low-resolution mask multiplied onto ``x``.

    The mask is computed at roughly 1/6 resolution and upsampled bilinearly to the input size, so
    the block sees a large area cheaply. The upsampling ratio depends on the *whole* input size,
    so a tile would stretch its mask differently from the whole image; during tiled inference the
    block therefore interpolates in whole-image coordinates (:func:`upsample_like_whole_image`).
    """

    tile_aware = True
    # conv2 (stride 2) then max-pool (stride 3): the low-resolution grid has a period of 6 pixels.
    GRID = 6

    def __init__(self, channels: int, reduced: int, *, light: bool = False) -> None:
        super().__init__()
        self.light = light
        # Registration order = the official state-dict order, so saved files list keys alike.
        self.conv1 = nn.Conv2d(channels, reduced, 1)
        self.conv_f = nn.Conv2d(reduced, reduced, 1)
        if not light:
            self.conv_max = nn.Conv2d(reduced, reduced, 3, padding=1)
        self.conv2 = nn.Conv2d(reduced, reduced, 3, stride=2, padding=0)
        self.conv3 = nn.Conv2d(reduced, reduced, 3, padding=1)
        if not light:
            self.conv3_ = nn.Conv2d(reduced, reduced, 3, padding=1)
        self.conv4 = nn.Conv2d(reduced, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c1_ = self.conv1(x)
        c1 = self.conv2(c1_)
        v = F.max_pool2d(c1, kernel_size=7, stride=3)
        if self.light:
            c3 = self.conv3(v)
        else:
            v = F.relu(self.conv_max(v))
            c3 = self.conv3_(F.relu(self.conv3(v)))
        geometry = tile_geometry(self)
        if geometry is None:
            c3 = F.interpolate(c3, size=x.shape[-2:], mode="bilinear", align_corners=False)
        else:
            c3 = upsample_like_whole_image(c3, x.shape[-2:], geometry, self.GRID)
        mask = torch.sigmoid(self.conv4(c3 + self.conv_f(c1_)))
        return x * mask


def _esa_low_resolution_size(length: int) -> int:
    """Size of ESA's mask grid for an input of ``length``: conv 3 stride 2, then max-pool 7 stride 3."""
    return ((length - 3) // 2 + 1 - 7) // 3 + 1


def _bilinear_taps(
    out_length: int, tile_start: int, full_length: int, tile_low: int, grid: int, device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Indices into the tile's low-res map and weights, as ``F.interpolate`` on the whole image.

    Same arithmetic as PyTorch's ``align_corners=False`` bilinear: source ``(p + 0.5) * in/out - 0.5``
    clamped at 0, in float32.
    """
    full_low = _esa_low_resolution_size(full_length)
    ratio = torch.tensor(full_low / full_length, dtype=torch.float32)
    position = torch.arange(tile_start, tile_start + out_length, dtype=torch.float32)
    source = ((position + 0.5) * ratio - 0.5).clamp_min(0)
    first = source.floor().long()
    weight = source - first
    second = torch.where(first < full_low - 1, first + 1, first)
    offset = tile_start // grid  # tiles start on the grid, so low-res index j of the tile is j + offset
    first = (first - offset).clamp(0, tile_low - 1)
    second = (second - offset).clamp(0, tile_low - 1)
    return first.to(device), second.to(device), weight.to(device)


def upsample_like_whole_image(
    low: torch.Tensor, size: tuple[int, int], geometry: tuple[int, int, int, int], grid: int
) -> torch.Tensor:
    """Bilinear upsampling of a tile's low-res map exactly where the whole image's would sample."""
    top, left, full_height, full_width = geometry
    r0, r1, wr = _bilinear_taps(size[0], top, full_height, low.shape[-2], grid, low.device)
    c0, c1, wc = _bilinear_taps(size[1], left, full_width, low.shape[-1], grid, low.device)
    wr = wr.to(low.dtype)[:, None]
    wc = wc.to(low.dtype)
    rows = low[..., r0, :] * (1 - wr) + low[..., r1, :] * wr
    return rows[..., c0] * (1 - wc) + rows[..., c1] * wc


def contrast(x: torch.Tensor, site: nn.Module | None = None) -> torch.Tensor:
    """Per-channel mean plus population standard deviation over H x W (IMDN's "contrast").

    With a pooling recorder attached to ``site`` (tiled inference), the whole image's moments
    are used instead of this tile's.
    """
    if site is not None and getattr(site, RECORDER_ATTRIBUTE, None) is not None:
        mean, second = spatial_moments(site, x, squares=True)
        variance = second - mean * mean
    else:
        mean = x.mean(dim=(2, 3), keepdim=True)
        variance = (x - mean).pow(2).mean(dim=(2, 3), keepdim=True)
    # IMDN takes sqrt without an epsilon; clamping at 0 only guards rounding below zero, and the
    # tiny floor keeps the gradient finite on constant channels without changing any output.
    return variance.clamp_min(1e-30).sqrt() + mean


class CCA(nn.Module):
    """Contrast-aware channel attention: ``x * sigmoid(MLP(std + mean))`` per channel."""

    pools_globally = True

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)  # official sizes never hit the floor; tiny test models do
        self.conv_du = nn.Sequential(
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.conv_du(contrast(x, self))
