"""RFDN and E-RFDN (Liu, Tang, Wu; AIM 2020 efficient-SR winner): residual feature distillation.

Two published configurations share :class:`RFDB`:

* **E-RFDN** (the released ``RFDN_AIM.pth``): 4 blocks x 50 channels, ESA attention, *no* block
  residual (the author: slightly better in the challenge). Trained on 0-255 input.
* **RFDN / RFDN-L** (the paper's Table 3 models): 6 blocks x 48 / 52 channels with CCA attention
  (reduction 4) in ESA's place and a block residual. This is inferred from the published parameter
  counts (534K / 541K / 550K at x2/x3/x4 are matched exactly); no official weights exist.

Unlike the official code, ``scale`` and ``num_blocks`` are honoured (the official class
hard-codes PixelShuffle(4) and four blocks). Module names follow the official checkpoint.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from distillsr.nn.attention import CCA, ESA
from distillsr.nn.upsample import chain_outputs, pixel_shuffle_tail

NEGATIVE_SLOPE = 0.05


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, NEGATIVE_SLOPE)


class RFDB(nn.Module):
    """Residual feature distillation block: three 1x1 distillation taps off a chain of shallow
    residual 3x3 blocks (SRB), fused by a 1x1 conv and re-weighted by attention."""

    def __init__(
        self,
        channels: int,
        attention: Literal["esa", "cca"] = "esa",
        block_residual: bool = False,
        cca_reduction: int = 4,
    ) -> None:
        super().__init__()
        distilled = channels // 2
        self.block_residual = block_residual
        self.c1_d = nn.Conv2d(channels, distilled, 1)
        self.c1_r = nn.Conv2d(channels, channels, 3, padding=1)
        self.c2_d = nn.Conv2d(channels, distilled, 1)
        self.c2_r = nn.Conv2d(channels, channels, 3, padding=1)
        self.c3_d = nn.Conv2d(channels, distilled, 1)
        self.c3_r = nn.Conv2d(channels, channels, 3, padding=1)
        self.c4 = nn.Conv2d(channels, distilled, 3, padding=1)
        self.c5 = nn.Conv2d(distilled * 4, channels, 1)
        if attention == "esa":
            self.esa = ESA(channels, channels // 4)
        elif attention == "cca":
            self.cca = CCA(channels, reduction=cca_reduction)
        else:
            raise ValueError(f"unknown RFDB attention {attention!r} (esa or cca)")
        self.attention_name = attention

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d1 = _lrelu(self.c1_d(x))
        r1 = _lrelu(self.c1_r(x) + x)
        d2 = _lrelu(self.c2_d(r1))
        r2 = _lrelu(self.c2_r(r1) + r1)
        d3 = _lrelu(self.c3_d(r2))
        r3 = _lrelu(self.c3_r(r2) + r2)
        r4 = _lrelu(self.c4(r3))
        attention = getattr(self, self.attention_name)
        out = attention(self.c5(torch.cat([d1, d2, d3, r4], dim=1)))
        return out + x if self.block_residual else out


class RFDN(nn.Module):
    """RFDN: shallow feature conv, chained RFDBs, 1x1 fusion of all block outputs, a global
    residual, and a pixel-shuffle tail."""

    def __init__(
        self,
        scale: int = 4,
        in_channels: int = 3,
        channels: int = 50,
        num_blocks: int = 4,
        attention: Literal["esa", "cca"] = "esa",
        block_residual: bool = False,
        cca_reduction: int = 4,
    ) -> None:
        super().__init__()
        self.scale = scale
        self.num_blocks = num_blocks
        self.fea_conv = nn.Conv2d(in_channels, channels, 3, padding=1)
        for index in range(1, num_blocks + 1):
            self.add_module(f"B{index}", RFDB(channels, attention, block_residual, cca_reduction))
        self.c = nn.Sequential(nn.Conv2d(channels * num_blocks, channels, 1), nn.LeakyReLU(NEGATIVE_SLOPE))
        self.LR_conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.upsampler = pixel_shuffle_tail(channels, in_channels, scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature = self.fea_conv(x)
        blocks = (getattr(self, f"B{index}") for index in range(1, self.num_blocks + 1))
        out = self.LR_conv(self.c(torch.cat(chain_outputs(blocks, feature), dim=1))) + feature
        return self.upsampler(out)
