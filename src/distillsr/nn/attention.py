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


class ESA(nn.Module):
    """Enhanced spatial attention: a strided, pooled, low-resolution mask multiplied onto ``x``.

    The mask is computed at roughly 1/6 resolution and upsampled bilinearly, so the block sees a
    large area cheaply — and is not local: its output depends on pooling windows that tiles cut.
    """

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
        c3 = F.interpolate(c3, size=x.shape[-2:], mode="bilinear", align_corners=False)
        mask = torch.sigmoid(self.conv4(c3 + self.conv_f(c1_)))
        return x * mask


def contrast(x: torch.Tensor) -> torch.Tensor:
    """Per-channel mean plus population standard deviation over H x W (IMDN's "contrast")."""
    mean = x.mean(dim=(2, 3), keepdim=True)
    variance = (x - mean).pow(2).mean(dim=(2, 3), keepdim=True)
    # IMDN takes sqrt without an epsilon; clamping at 0 only guards rounding below zero, and the
    # tiny floor keeps the gradient finite on constant channels without changing any output.
    return variance.clamp_min(1e-30).sqrt() + mean


class CCA(nn.Module):
    """Contrast-aware channel attention: ``x * sigmoid(MLP(std + mean))`` per channel."""

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
        return x * self.conv_du(contrast(x))
