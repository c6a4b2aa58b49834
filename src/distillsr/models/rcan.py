"""RCAN (Zhang et al., ECCV 2018) as a channel-splitting network, laid out as in CSD's code.

Follows ``Booooooooooo/CSD, PyTorch version/model/rcan.py``, whose module names differ from
RCAN-PyTorch's (the channel attention is ``caLayer``, not the last item of ``body``):

``sub_mean``, ``head_conv``, ``body.<g>.body.<b>.body.{0,1}`` (RCAB convs),
``body.<g>.body.<b>.caLayer.conv_du.{0,1}``, ``body.<g>.conv``, ``body_conv``,
``upsampler.blocks.<j>``, ``tail_conv``, ``add_mean``.

As in CSD, the channel-attention convs are sliced too (``int(w * C / r)`` hidden units at width
``w``) and the residual blocks add their residual unscaled: CSD's RCAB accepts ``res_scale`` but
never applies it, so this class has no such option. Input is on the [0, ``rgb_range``] scale.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from distillsr.models.edsr import DIV2K_RGB_MEAN, MeanShift, check_sr_config
from distillsr.nn.global_stats import spatial_moments
from distillsr.nn.slimmable import (
    DEFAULT_WIDTHS,
    SlimmableConv2d,
    SlimmableNetwork,
    SlimmableUpsampler,
)


class CALayer(nn.Module):
    """Channel attention: global average pool, 1x1 squeeze (ReLU), 1x1 excite (sigmoid), rescale.

    The squeeze has ``channels // reduction`` units; at width ``w`` both convs keep the first
    ``int(w * units)`` of them, so at the smallest CSD width a 64-channel RCAN's attention runs
    through a single hidden unit.
    """

    pools_globally = True  # tiled inference supplies whole-image means

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = channels // reduction
        if hidden < 1:
            raise ValueError(f"reduction {reduction} leaves no hidden units for {channels} channels")
        self.conv_du = nn.ModuleList(
            [SlimmableConv2d(channels, hidden, 1), SlimmableConv2d(hidden, channels, 1)]
        )
        self.relu = nn.ReLU(inplace=True)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        squeeze, excite = self.conv_du
        pooled = spatial_moments(self, x)[0]
        return x * self.sigmoid(excite(self.relu(squeeze(pooled))))


class RCAB(nn.Module):
    """Residual channel-attention block: conv3x3 -> ReLU -> conv3x3 -> CA, plus the input."""

    def __init__(self, channels: int, reduction: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.body = nn.ModuleList(
            SlimmableConv2d(channels, channels, kernel_size, padding=kernel_size // 2) for _ in range(2)
        )
        self.caLayer = CALayer(channels, reduction)  # camelCase: the official checkpoint key
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first, second = self.body
        return x + self.caLayer(second(self.act(first(x))))


class ResidualGroup(nn.Module):
    """A chain of RCABs closed by a conv3x3, with a skip over the whole group."""

    def __init__(self, channels: int, reduction: int, num_blocks: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.body = nn.ModuleList(RCAB(channels, reduction, kernel_size) for _ in range(num_blocks))
        self.conv = SlimmableConv2d(channels, channels, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x
        for block in self.body:
            residual = block(residual)
        return self.conv(residual) + x


class RCAN(SlimmableNetwork):
    """Residual channel-attention network with width switching (defaults: the paper's 10 groups x
    20 RCABs x 64 channels, CA reduction 16)."""

    def __init__(
        self,
        scale: int,
        num_groups: int = 10,
        num_blocks: int = 20,
        channels: int = 64,
        reduction: int = 16,
        in_channels: int = 3,
        rgb_range: float = 255.0,
        widths: Sequence[float] = DEFAULT_WIDTHS,
        rgb_mean: Sequence[float] = DIV2K_RGB_MEAN,
    ) -> None:
        super().__init__()
        check_sr_config(scale, in_channels, rgb_mean)
        self.scale = scale
        self.sub_mean = MeanShift(rgb_range, rgb_mean, sign=-1)
        self.head_conv = SlimmableConv2d(in_channels, channels, 3, padding=1, slice_in=False)
        self.body = nn.ModuleList(ResidualGroup(channels, reduction, num_blocks) for _ in range(num_groups))
        self.body_conv = SlimmableConv2d(channels, channels, 3, padding=1)
        self.upsampler = SlimmableUpsampler(scale, channels)
        self.tail_conv = SlimmableConv2d(channels, in_channels, 3, padding=1, slice_out=False)
        self.add_mean = MeanShift(rgb_range, rgb_mean, sign=1)
        self.init_widths(widths)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head_conv(self.sub_mean(x))
        residual = x
        for group in self.body:
            residual = group(residual)
        x = self.body_conv(residual) + x
        return self.add_mean(self.tail_conv(self.upsampler(x)))
