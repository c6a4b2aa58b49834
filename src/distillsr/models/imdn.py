"""IMDN (Hui et al., ACM MM 2019): information multi-distillation, the baseline RFDN reworks.

Each IMDB splits every 3x3 conv's output into 16 distilled and 48 remaining channels, fuses the
distilled parts after contrast-aware channel attention, and adds a block residual. Module names
follow ``Zheng222/IMDN`` (the official files additionally prefix ``module.``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from distillsr.nn.attention import CCA
from distillsr.nn.upsample import chain_outputs, pixel_shuffle_tail

NEGATIVE_SLOPE = 0.05


class IMDB(nn.Module):
    """Information multi-distillation block (``distillation_rate`` of the channels split off per step)."""

    def __init__(self, channels: int = 64, distillation_rate: float = 0.25, cca_reduction: int = 16) -> None:
        super().__init__()
        self.distilled = int(channels * distillation_rate)
        self.remaining = channels - self.distilled
        self.c1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.c2 = nn.Conv2d(self.remaining, channels, 3, padding=1)
        self.c3 = nn.Conv2d(self.remaining, channels, 3, padding=1)
        self.c4 = nn.Conv2d(self.remaining, self.distilled, 3, padding=1)
        self.cca = CCA(self.distilled * 4, reduction=cca_reduction)
        self.c5 = nn.Conv2d(self.distilled * 4, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        split = (self.distilled, self.remaining)
        d1, r1 = torch.split(F.leaky_relu(self.c1(x), NEGATIVE_SLOPE), split, dim=1)
        d2, r2 = torch.split(F.leaky_relu(self.c2(r1), NEGATIVE_SLOPE), split, dim=1)
        d3, r3 = torch.split(F.leaky_relu(self.c3(r2), NEGATIVE_SLOPE), split, dim=1)
        d4 = self.c4(r3)
        return self.c5(self.cca(torch.cat([d1, d2, d3, d4], dim=1))) + x


class IMDN(nn.Module):
    """IMDN: 6 IMDBs x 64 channels, 1x1 fusion of all block outputs, global residual, pixel shuffle."""

    def __init__(self, scale: int = 4, in_channels: int = 3, channels: int = 64, num_blocks: int = 6) -> None:
        super().__init__()
        self.num_blocks = num_blocks
        self.fea_conv = nn.Conv2d(in_channels, channels, 3, padding=1)
        for index in range(1, num_blocks + 1):
            self.add_module(f"IMDB{index}", IMDB(channels))
        self.c = nn.Sequential(nn.Conv2d(channels * num_blocks, channels, 1), nn.LeakyReLU(NEGATIVE_SLOPE))
        self.LR_conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.upsampler = pixel_shuffle_tail(channels, in_channels, scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature = self.fea_conv(x)
        blocks = (getattr(self, f"IMDB{index}") for index in range(1, self.num_blocks + 1))
        out = self.LR_conv(self.c(torch.cat(chain_outputs(blocks, feature), dim=1))) + feature
        return self.upsampler(out)
