"""IMDN (Hui et al., ACM MM 2019): information multi-distillation, the baseline RFDN reworks.

Each IMDB splits every 3x3 conv's output into 16 distilled and 48 remaining channels, fuses the
distilled parts after contrast-aware channel attention, and adds a block residual. Module names
follow ``Zheng222/IMDN`` (the official files additionally prefix ``module.``).

:class:`SlimmableIMDN` is the same network with channel splitting (CSD's width switching, zoo
name ``imdn-csd``): one set of full-width weights, whose state dict is key for key and shape for
shape the plain IMDN's, so an official IMDN file starts it.

**Slicing rule: every split and every concatenation is sliced per member.** At width ``w`` every
tensor keeps the first ``int(w * n)`` channels *of each of its parts*, not the first channels of
the whole tensor:

* the trunk (``fea_conv``, block outputs, ``LR_conv``) keeps its first ``int(w * C)`` channels;
* a 3x3 conv whose output is split into distilled and remaining parts (``c1``, ``c2``, ``c3``)
  writes the first ``int(w * d)`` distilled and the first ``int(w * r)`` remaining channels
  (at C = 64, w = 0.5: output channels 0-7 and 16-39), so the next conv reads the first
  ``int(w * r)`` channels of the full remaining part;
* the concatenation ``[d1, d2, d3, d4]`` is read by CCA and ``c5`` through the kept columns of
  each member, and the 1x1 fusion ``c`` reads the kept channels of each of the block outputs;
* CCA keeps its first ``int(w * hidden)`` hidden units; the tail conv reads the kept trunk
  channels and writes all ``3 * s^2`` sub-pixel channels.

So the network at width ``w`` *is* the full network with the dropped channels' weights zeroed:
a consistent sub-network, which is what CSD's teacher/student sharing assumes. CSD's CARN
(§4.1 of the methods notes, :mod:`distillsr.models.carn`) instead keeps the leading columns of
each concatenation, so there a narrow member lands on kernel columns the full network applies to
another member; that quirk is kept for CSD's own weights and not copied here, since no IMDN-CSD
weights exist that would depend on it. The widths must leave every part at least one channel
(C = 64: 0.25 keeps 4 distilled and 12 remaining channels and one of CCA's four hidden units).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from distillsr.nn.attention import CCA
from distillsr.nn.slimmable import DEFAULT_WIDTHS, SlimmableNetwork
from distillsr.nn.slimmable_split import SlimmableCCA, SplitSlimmableConv2d
from distillsr.nn.upsample import chain_outputs

NEGATIVE_SLOPE = 0.05


def plain_conv(in_channels: int, out_channels: int, kernel_size: int, **slicing: object) -> nn.Conv2d:
    """An ordinary same-padded conv. ``slicing`` (``in_segments``, ``out_segments``, ``slice_in``,
    ``slice_out``) says how the tensors it reads and writes are split; only :func:`split_conv` acts on it."""
    return nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)


def split_conv(in_channels: int, out_channels: int, kernel_size: int, **slicing) -> nn.Conv2d:
    """The same conv, sliced per segment at the network's width (:class:`SplitSlimmableConv2d`)."""
    return SplitSlimmableConv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, **slicing)


class IMDB(nn.Module):
    """Information multi-distillation block (``distillation_rate`` of the channels split off per step)."""

    conv = staticmethod(plain_conv)

    def __init__(self, channels: int = 64, distillation_rate: float = 0.25, cca_reduction: int = 16) -> None:
        super().__init__()
        self.distilled = d = int(channels * distillation_rate)
        self.remaining = r = channels - self.distilled
        self.c1 = self.conv(channels, channels, 3, out_segments=(d, r))
        self.c2 = self.conv(r, channels, 3, out_segments=(d, r))
        self.c3 = self.conv(r, channels, 3, out_segments=(d, r))
        self.c4 = self.conv(r, d, 3)
        self.cca = self.attention(d * 4, cca_reduction, (d,) * 4)
        self.c5 = self.conv(d * 4, channels, 1, in_segments=(d,) * 4)

    @staticmethod
    def attention(channels: int, reduction: int, segments: Sequence[int]) -> nn.Module:
        return CCA(channels, reduction=reduction)

    def split_sizes(self) -> Sequence[int]:
        """How ``c1``-``c3``'s outputs split into distilled and remaining channels."""
        return (self.distilled, self.remaining)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        split = self.split_sizes()
        d1, r1 = torch.split(F.leaky_relu(self.c1(x), NEGATIVE_SLOPE), split, dim=1)
        d2, r2 = torch.split(F.leaky_relu(self.c2(r1), NEGATIVE_SLOPE), split, dim=1)
        d3, r3 = torch.split(F.leaky_relu(self.c3(r2), NEGATIVE_SLOPE), split, dim=1)
        d4 = self.c4(r3)
        return self.c5(self.cca(torch.cat([d1, d2, d3, d4], dim=1))) + x


class SlimmableIMDB(IMDB):
    """An IMDB whose convs and attention are sliced per split member (see the module docstring)."""

    conv = staticmethod(split_conv)

    @staticmethod
    def attention(channels: int, reduction: int, segments: Sequence[int]) -> nn.Module:
        return SlimmableCCA(channels, reduction, segments)

    def split_sizes(self) -> Sequence[int]:
        return self.c1.active_out_segments()


class IMDN(nn.Module):
    """IMDN: 6 IMDBs x 64 channels, 1x1 fusion of all block outputs, global residual, pixel shuffle."""

    block = IMDB

    def __init__(
        self, scale: int = 4, in_channels: int = 3, channels: int = 64, num_blocks: int = 6, cca_reduction: int = 16
    ) -> None:
        super().__init__()
        conv = self.block.conv
        self.num_blocks = num_blocks
        self.fea_conv = conv(in_channels, channels, 3, slice_in=False)
        for index in range(1, num_blocks + 1):
            self.add_module(f"IMDB{index}", self.block(channels, cca_reduction=cca_reduction))
        self.c = nn.Sequential(
            conv(channels * num_blocks, channels, 1, in_segments=(channels,) * num_blocks), nn.LeakyReLU(NEGATIVE_SLOPE)
        )
        self.LR_conv = conv(channels, channels, 3)
        # conv(C -> 3 s^2) + PixelShuffle(s): keys upsampler.0.*; every sub-pixel channel is written at any width
        self.upsampler = nn.Sequential(conv(channels, in_channels * scale * scale, 3, slice_out=False), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature = self.fea_conv(x)
        blocks = (getattr(self, f"IMDB{index}") for index in range(1, self.num_blocks + 1))
        out = self.LR_conv(self.c(torch.cat(chain_outputs(blocks, feature), dim=1))) + feature
        return self.upsampler(out)


class SlimmableIMDN(IMDN, SlimmableNetwork):
    """IMDN with channel splitting (CSD): runs at any of ``widths`` from one set of weights."""

    block = SlimmableIMDB

    def __init__(
        self,
        scale: int = 4,
        in_channels: int = 3,
        channels: int = 64,
        num_blocks: int = 6,
        cca_reduction: int = 16,
        widths: Sequence[float] = DEFAULT_WIDTHS,
    ) -> None:
        super().__init__(scale, in_channels, channels, num_blocks, cca_reduction)
        self.init_widths(widths)
