"""DIPNet-slim-v2 (NTIRE 2025 efficient SR, team 15; ``Amazingren/NTIRE2025_ESR``,
``models/team15_DIPNet_slim_v2.py``): DIPNet slimmed to 32 channels with SPAN's re-parameterizable
convs and SiLU.

The layout is DIPNet's (:mod:`distillsr.models.dipnet`): ``conv_1`` -> four blocks -> ``conv_2``
+ long skip -> conv + PixelShuffle, a block being three activated 3x3 convs with a residual, a 1x1
(``c5``) and the light ESA. What changed:

* every 3x3 conv of the trunk, of the blocks and of the upsampler is a
  :class:`~distillsr.nn.conv3xc.Conv3XC` when training (``deploy=False``) and its folded
  ``eval_conv`` deployed (the released file), without bias, as is ``c5``;
* ESA's ``conv3`` is a Conv3XC too, with bias (the other ESA convs are plain, with biases);
* ``conv_2`` is a 1x1 (no bias) instead of a 3x3; the activation is SiLU instead of LeakyReLU.

Input range 0-1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from distillsr.nn.attention import ESA
from distillsr.nn.conv3xc import rep_conv3x3


class SlimBlock(nn.Module):
    """DIPNet-slim-v2's block (the official ``RRFB_rep1``): ``esa(c5(silu(c3_r(silu(c2_r(silu(c1_r(x)))))) + x))``."""

    def __init__(self, channels: int, mid_channels: int, esa_channels: int, *, deploy: bool = True, gain: int = 2) -> None:
        super().__init__()
        self.c1_r = rep_conv3x3(channels, mid_channels, deploy=deploy, gain=gain, bias=False)
        self.c2_r = rep_conv3x3(mid_channels, mid_channels, deploy=deploy, gain=gain, bias=False)
        self.c3_r = rep_conv3x3(mid_channels, channels, deploy=deploy, gain=gain, bias=False)
        self.c5 = nn.Conv2d(channels, channels, 1, bias=False)
        self.esa = ESA(channels, esa_channels, light=True)
        # ESA's 3x3 at low resolution is re-parameterizable here (replaced in place: same key position)
        self.esa.conv3 = rep_conv3x3(esa_channels, esa_channels, deploy=deploy, gain=gain, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.c1_r(x))
        h = F.silu(self.c2_r(h))
        h = F.silu(self.c3_r(h))
        return self.esa(self.c5(h + x))


class DIPNetSlimV2(nn.Module):
    """``conv_1`` -> ``num_blocks`` slim blocks -> ``conv_2`` (1x1) + long skip -> upsampler.

    The official class hard-codes x4 and 32 channels inside the blocks; here ``scale`` sets the
    pixel-shuffle width and ``mid_channels`` the blocks' inner width.
    """

    def __init__(
        self,
        scale: int = 4,
        in_channels: int = 3,
        channels: int = 32,
        mid_channels: int = 32,
        esa_channels: int = 16,
        num_blocks: int = 4,
        deploy: bool = True,
        gain: int = 2,
    ) -> None:
        super().__init__()
        self.scale = scale
        self.num_blocks = num_blocks
        self.conv_1 = rep_conv3x3(in_channels, channels, deploy=deploy, gain=gain, bias=False)
        for index in range(1, num_blocks + 1):
            self.add_module(
                f"block_{index}", SlimBlock(channels, mid_channels, esa_channels, deploy=deploy, gain=gain)
            )
        self.conv_2 = nn.Conv2d(channels, channels, 1, bias=False)
        self.upsampler = nn.Sequential(
            rep_conv3x3(channels, in_channels * scale * scale, deploy=deploy, gain=gain, bias=False),
            nn.PixelShuffle(scale),
        )

    def blocks(self) -> list[SlimBlock]:
        """The blocks in order (registered as ``block_1``.. to match the official keys)."""
        return [getattr(self, f"block_{index}") for index in range(1, self.num_blocks + 1)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.conv_1(x)
        h = shallow
        for block in self.blocks():
            h = block(h)
        return self.upsampler(self.conv_2(h) + shallow)
