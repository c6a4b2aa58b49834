"""CARN (Ahn et al., ECCV 2018) as CSD built it: a channel-splitting cascading residual network.

Follows ``Booooooooooo/CSD, PyTorch version/model/carn.py``, which is not the original CARN
(1.59 M parameters at 64 channels) but a lighter variant (1.11 M at x4): EDSR residual blocks (no
ReLU after the addition, res_scale 1) instead of CARN's, one plain sub-pixel upsampler (no ReLU, no
multi-scale branches), and EDSR's mean shift. Module names are CSD's:

``sub_mean``, ``entry``, ``b<i>.b<j>.conv1/conv2`` (residual blocks), ``b<i>.c<j>.conv`` (1x1
fusions inside a cascading block), ``c<i>.conv`` (global 1x1 fusions), ``upsample.blocks.<j>``,
``exit``, ``add_mean``.

**Concatenation quirk, reproduced on purpose.** Each 1x1 fusion conv reads a concatenation
``[c0, b1, ...]`` of ``k`` features that are each ``int(w * nf)`` channels wide at width ``w``,
and it keeps the *first* ``k * int(w * nf)`` input columns of its full kernel. At full width
column ``j`` multiplies channel ``j`` of the concatenation; at ``w = 0.5`` the student's ``b1``
channels land on columns ``nf/2 .. nf``, which the full network applies to the second half of
``c0``. So the narrow CARN shares weights with the full one without being its channel-prefix
sub-network (channel splitting is not consistent across concatenations). CSD's trained weights
assume this layout, so it is kept; ``in_multiple=k`` only makes the column count
``k * int(w * nf)`` exact for widths where the official ``int(w * k * nf)`` would not match the
concatenation (and the official code would fail).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from distillsr.models.edsr import (
    DIV2K_RGB_MEAN,
    MeanShift,
    ResidualBlock,
    check_sr_config,
)
from distillsr.nn.slimmable import (
    DEFAULT_WIDTHS,
    SlimmableConv2d,
    SlimmableNetwork,
    SlimmableUpsampler,
)


class FusionConv(nn.Module):
    """1x1 conv + ReLU that fuses the concatenation of ``members`` features into one (the
    official ``BasicBlock``; the conv is ``.conv`` in checkpoints)."""

    def __init__(self, channels: int, members: int) -> None:
        super().__init__()
        self.conv = SlimmableConv2d(channels * members, channels, 1, in_multiple=members)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x))


def add_cascade(owner: nn.Module, channels: int, stages: Sequence[nn.Module]) -> None:
    """Register CARN's three cascade stages as ``b1..b3`` and their fusions as ``c1..c3``.

    The cascading block and the whole network share this pattern and differ only in what a stage
    is; registering on the owner (rather than a shared submodule) keeps the official flat keys.
    """
    if len(stages) != 3:
        raise ValueError("CARN cascades have exactly three stages")
    for index, stage in enumerate(stages, start=1):
        owner.add_module(f"b{index}", stage)
    for index in range(1, 4):
        owner.add_module(f"c{index}", FusionConv(channels, index + 1))


def run_cascade(owner: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Each stage's output is concatenated with every earlier feature (``x`` first) and fused."""
    concat = out = x
    for index in range(1, 4):
        concat = torch.cat([concat, getattr(owner, f"b{index}")(out)], dim=1)
        out = getattr(owner, f"c{index}")(concat)
    return out


class CascadingBlock(nn.Module):
    """Three residual blocks in a cascade (the official ``Block``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        add_cascade(self, channels, [ResidualBlock(channels) for _ in range(3)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return run_cascade(self, x)


class CARN(SlimmableNetwork):
    """CSD's cascading residual network with width switching (64 channels by default)."""

    def __init__(
        self,
        scale: int,
        channels: int = 64,
        in_channels: int = 3,
        rgb_range: float = 255.0,
        widths: Sequence[float] = DEFAULT_WIDTHS,
        rgb_mean: Sequence[float] = DIV2K_RGB_MEAN,
    ) -> None:
        super().__init__()
        check_sr_config(scale, in_channels, rgb_mean)
        self.scale = scale
        self.sub_mean = MeanShift(rgb_range, rgb_mean, sign=-1)
        self.add_mean = MeanShift(rgb_range, rgb_mean, sign=1)
        self.entry = SlimmableConv2d(in_channels, channels, 3, padding=1, slice_in=False)
        add_cascade(self, channels, [CascadingBlock(channels) for _ in range(3)])
        self.upsample = SlimmableUpsampler(scale, channels)
        self.exit = SlimmableConv2d(channels, in_channels, 3, padding=1, slice_out=False)
        self.init_widths(widths)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.entry(self.sub_mean(x))
        return self.add_mean(self.exit(self.upsample(run_cascade(self, x))))
