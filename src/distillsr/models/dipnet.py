"""DIPNet (Yu et al., NTIRE 2023 efficient SR, team MegSR): an RLFN-shaped network whose width
comes from reparameterization and pruning rather than design.

One class covers three published configurations:

* **DIPNet** (the submission, ``DIPNet.pth``): 44 trunk / 38 mid channels, 4 blocks, no bias in
  any conv outside ESA. ``DIPNet()``.
* **EDIPv1** (the factsheet model, ``team34_EDIPv1.pth``): 44 / 32 channels, and ``conv_1``,
  ``conv_2`` and the upsampler carry biases. ``DIPNet(mid_channels=32, bias=True)``.
* **the train-time student** before reparameterization and pruning: every 3x3 conv inside the
  blocks is an :class:`~distillsr.nn.rrrb.RRRB`, which needs equal in/out widths, e.g.
  ``DIPNet(channels=48, mid_channels=48, block="rrrb")``; :func:`distillsr.nn.reparam.deploy`
  turns it into the plain model of the same widths, key for key.

Module names follow the official checkpoints so they load with ``strict=True``. The official
class hard-codes x4; here ``scale`` only changes the upsampler's output channels.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from distillsr.nn.attention import ESA
from distillsr.nn.rrrb import RRRB
from distillsr.nn.upsample import pixel_shuffle_tail

NEGATIVE_SLOPE = 0.05

BlockKind = Literal["plain", "rrrb"]


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, NEGATIVE_SLOPE)


def _block_conv(in_channels: int, out_channels: int, kind: BlockKind, expansion: int, bias: bool) -> nn.Module:
    """A 3x3 conv of a block: plain for deployment, an RRRB (C -> C only) for the student."""
    if kind == "plain":
        return nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=bias)
    if kind == "rrrb":
        if in_channels != out_channels:
            raise ValueError(
                f"an RRRB has an identity branch, so it needs in == out channels (got {in_channels} -> "
                f"{out_channels}); the student is reparameterized before pruning makes widths differ"
            )
        return RRRB(in_channels, expansion, bias=bias)
    raise ValueError(f"block must be 'plain' or 'rrrb', got {kind!r}")


class RRFB(nn.Module):
    """DIPNet's block (RLFN's RLFB): three activated 3x3 convs, a residual, a 1x1 and ESA.

    The only residual is around the three convs; ESA sees ``c5`` of that sum, and its output is
    the block's output (no second skip), which is what lets ``c5`` be pruned with ESA's convs.
    """

    def __init__(
        self,
        channels: int,
        mid_channels: int,
        esa_channels: int,
        *,
        kind: BlockKind = "plain",
        expansion: int = 256,
        bias: bool = False,
    ) -> None:
        super().__init__()
        self.c1_r = _block_conv(channels, mid_channels, kind, expansion, bias)
        self.c2_r = _block_conv(mid_channels, mid_channels, kind, expansion, bias)
        self.c3_r = _block_conv(mid_channels, channels, kind, expansion, bias)
        self.c5 = nn.Conv2d(channels, channels, 1, bias=bias)
        self.esa = ESA(channels, esa_channels, light=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = _lrelu(self.c1_r(x))
        h = _lrelu(self.c2_r(h))
        h = _lrelu(self.c3_r(h))
        return self.esa(self.c5(h + x))


class DIPNet(nn.Module):
    """``conv_1`` -> ``num_blocks`` RRFBs -> ``conv_2`` + long skip -> conv + PixelShuffle.

    Only the last block feeds ``conv_2`` (no concatenation of block outputs as in RFDN).

    ``bias`` is for the trunk convs (``conv_1``, ``conv_2``, ``upsampler.0``: EDIPv1 has them,
    DIPNet does not); ``block_bias`` for the convs inside the blocks (``c1_r``..``c3_r``, ``c5``),
    which no official checkpoint has. ESA convs always have biases, as in the official code.

    With ``block="rrrb"`` only the blocks' 3x3 convs are RRRBs. Whether the authors' student also
    reparameterized ``conv_1``, ``conv_2`` or the upsampler is not documented (the training code was
    never released), so they stay plain here; ``expansion`` is the RRRB width.
    """

    def __init__(
        self,
        scale: int = 4,
        in_channels: int = 3,
        channels: int = 44,
        mid_channels: int = 38,
        esa_channels: int = 16,
        num_blocks: int = 4,
        bias: bool = False,
        block_bias: bool = False,
        block: BlockKind = "plain",
        expansion: int = 256,
    ) -> None:
        super().__init__()
        self.scale = scale
        self.conv_1 = nn.Conv2d(in_channels, channels, 3, padding=1, bias=bias)
        for index in range(1, num_blocks + 1):
            self.add_module(
                f"block_{index}",
                RRFB(channels, mid_channels, esa_channels, kind=block, expansion=expansion, bias=block_bias),
            )
        self.num_blocks = num_blocks
        self.conv_2 = nn.Conv2d(channels, channels, 3, padding=1, bias=bias)
        self.upsampler = pixel_shuffle_tail(channels, in_channels, scale, bias=bias)

    def blocks(self) -> list[nn.Module]:
        """The RRFBs in order (registered as ``block_1``.. to match the official keys)."""
        return [getattr(self, f"block_{index}") for index in range(1, self.num_blocks + 1)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.conv_1(x)
        h = shallow
        for block in self.blocks():
            h = block(h)
        return self.upsampler(self.conv_2(h) + shallow)
