"""Pieces of the trunk-and-tail layout the distillation networks share (IMDN, RFDN)."""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn


def pixel_shuffle_tail(in_channels: int, out_channels: int, scale: int, *, kernel_size: int = 3, bias: bool = True) -> nn.Sequential:
    """``Conv(in -> out * s^2)`` then ``PixelShuffle(s)``: keys ``0.weight`` (and ``0.bias``)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels * scale * scale, kernel_size, padding=kernel_size // 2, bias=bias),
        nn.PixelShuffle(scale),
    )


def chain_outputs(blocks: Iterable[nn.Module], x: torch.Tensor) -> list[torch.Tensor]:
    """Run blocks one after another and keep every block's output (for the 1x1 fusion of all)."""
    outputs = []
    for block in blocks:
        x = block(x)
        outputs.append(x)
    return outputs
