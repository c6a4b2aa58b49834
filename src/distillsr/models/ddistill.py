"""DDistill-SR (Wang et al., IEEE TMM 2023): feature distillation with reparameterized dynamic units.

The network is RFDN-shaped (distillation blocks, ESA, concatenation of block outputs), with two
changes that the released code makes concrete:

* every 3x3 conv of the refinement path is an :class:`~distillsr.nn.dynamic.RDU`, a diverse
  branch block modulated per image by a DCD dynamic branch that also emits a residual;
* those residuals are fused by "dynamic distillation fusion" (DDF): inside each block
  (``conv1x1`` over ``[x, res1, res2, res3]`` gated by ``sigmoid(PAconv(f))``) and across blocks
  (``cres`` over the block residuals gated by ``sigmoid(PAconv(out_B))``).

One class covers both official forms: ``deploy=False`` is the train-time ``DDistill_SR`` layout
(DBB branches with BatchNorm) and ``deploy=True`` the ``DDistill_SR_Inference`` layout
(``dbb_reparam`` convs) that the released ``DDistill-SRx4_inference.pth`` loads into with
``strict=True``; :func:`distillsr.nn.reparam.deploy` turns the first into the second, key for key.
The released configuration is the default (56 channels, 4 blocks, L = 16). Input and output are
in [0, 1]; the output is clamped.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from distillsr.nn.attention import ESA
from distillsr.nn.dynamic import RDU

BLOCK_SLOPE = 0.05  # LeakyReLU inside the blocks
FUSION_SLOPE = 0.1  # LeakyReLU after the network-level 1x1 fusions (cres, c)


class DFDB(nn.Module):
    """Dynamic feature distillation block; returns ``(out, res)``.

    Three RDUs refine the features (no skip around them, unlike RFDN's SRB) while 1x1 convs
    distil half the channels at each step; the last refined map is distilled by a 1x1 *without*
    activation. The block-level DDF mixes the input with the three RDU residuals, gates it by
    pixel attention on the fused features, and adds it before ESA; the gated mix is also returned
    for the network-level fusion.
    """

    def __init__(self, channels: int, *, rank: int, deploy: bool = False) -> None:
        super().__init__()
        distilled = channels // 2
        act = nn.LeakyReLU(BLOCK_SLOPE)
        for step in (1, 2, 3):
            self.add_module(f"c{step}_d", nn.Conv2d(channels, distilled, 1))
            self.add_module(f"c{step}_r", RDU(channels, channels, 3, rank=rank, activation=act, deploy=deploy))
        self.c4 = nn.Conv2d(channels, distilled, 1)
        self.c5 = nn.Conv2d(4 * distilled, channels, 1)
        self.PAconv = nn.Conv2d(channels, channels, 1)
        self.conv1x1 = nn.Conv2d(4 * channels, channels, 1)
        self.esa = ESA(channels, channels // 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        distilled, residuals = [], [x]
        h = x
        for step in (1, 2, 3):
            distilled.append(F.leaky_relu(getattr(self, f"c{step}_d")(h), BLOCK_SLOPE))
            h, res = getattr(self, f"c{step}_r")(h)
            residuals.append(res)
        distilled.append(self.c4(h))
        fused = self.c5(torch.cat(distilled, dim=1))
        res = self.conv1x1(torch.cat(residuals, dim=1)) * torch.sigmoid(self.PAconv(fused))
        return self.esa(fused + res), res


def _fusion(in_channels: int, channels: int) -> nn.Sequential:
    """``Conv1x1 -> LeakyReLU(0.1)`` (keys ``0.weight``, ``0.bias``), as ``cres`` and ``c``."""
    return nn.Sequential(nn.Conv2d(in_channels, channels, 1), nn.LeakyReLU(FUSION_SLOPE))


def _upsampler(channels: int, out_channels: int, scale: int) -> nn.Sequential:
    """``Conv3x3 -> PixelShuffle -> Conv3x3`` (the official ``pixelshuffle_block_cpc``)."""
    return nn.Sequential(
        nn.Conv2d(channels, out_channels * scale * scale, 3, padding=1),
        nn.PixelShuffle(scale),
        nn.Conv2d(out_channels, out_channels, 3, padding=1),
    )


class DDistillSR(nn.Module):
    """``fea_conv`` -> ``num_blocks`` DFDBs -> two 1x1 fusions with DDF -> ``LR_conv`` (an RDU) +
    long skip -> ``upsamplerx{scale}`` -> clamp to [0, 1].

    ``fusion_rank`` is the official ``L`` (dynamic subspace width of every RDU). ``deploy``
    picks the layout of the RDUs; the rest of the network is identical in both forms. The
    upsampler's module name carries the scale (``upsamplerx4``), as in the official code, so
    checkpoints of different scales do not load into each other by mistake.
    """

    def __init__(
        self,
        scale: int = 4,
        in_channels: int = 3,
        channels: int = 56,
        num_blocks: int = 4,
        fusion_rank: int = 16,
        deploy: bool = False,
    ) -> None:
        super().__init__()
        if scale < 1 or num_blocks < 1:
            raise ValueError(f"scale and num_blocks must be positive, got x{scale} with {num_blocks} blocks")
        self.scale = scale
        self.num_blocks = num_blocks
        self.fea_conv = nn.Conv2d(in_channels, channels, 3, padding=1)
        for index in range(1, num_blocks + 1):
            self.add_module(f"B{index}", DFDB(channels, rank=fusion_rank, deploy=deploy))
        self.PAconv = nn.Conv2d(channels, channels, 1)
        self.cres = _fusion(num_blocks * channels, channels)
        self.c = _fusion(num_blocks * channels, channels)
        self.LR_conv = RDU(channels, channels, 3, rank=fusion_rank, deploy=deploy)
        self.add_module(f"upsamplerx{scale}", _upsampler(channels, in_channels, scale))

    def blocks(self) -> list[DFDB]:
        """The DFDBs in order (registered as ``B1``.. to match the official keys)."""
        return [getattr(self, f"B{index}") for index in range(1, self.num_blocks + 1)]

    @property
    def upsampler(self) -> nn.Sequential:
        return getattr(self, f"upsamplerx{self.scale}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.fea_conv(x)
        outs, residuals = [], []
        h = shallow
        for block in self.blocks():
            h, res = block(h)
            outs.append(h)
            residuals.append(res)
        out_res = self.cres(torch.cat(residuals, dim=1))
        out_b = self.c(torch.cat(outs, dim=1))
        out_res = out_res * torch.sigmoid(self.PAconv(out_b))
        lr, _ = self.LR_conv(out_b + out_res)
        return self.upsampler(lr + shallow).clamp(0, 1)
