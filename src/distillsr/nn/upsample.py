"""Sub-pixel upsampling tails shared by the lightweight SR models."""

from __future__ import annotations

from torch import nn


def pixel_shuffle_tail(in_channels: int, out_channels: int, scale: int, *, kernel_size: int = 3, bias: bool = True) -> nn.Sequential:
    """``Conv(in -> out * s^2)`` then ``PixelShuffle(s)``: keys ``0.weight`` (and ``0.bias``)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels * scale * scale, kernel_size, padding=kernel_size // 2, bias=bias),
        nn.PixelShuffle(scale),
    )
