"""EDSR (Lim et al., CVPRW 2017) as a channel-splitting network, laid out as in CSD's code.

CSD (``Booooooooooo/CSD, PyTorch version/model/edsr.py``) trains one EDSR whose first
``int(w * C)`` channels form a working student at width ``w``. The module names are CSD's, not
EDSR-PyTorch's, so CSD checkpoints load key for key and EDSR-PyTorch ones do not:

``sub_mean``, ``head``, ``body.<i>.conv1`` / ``body.<i>.conv2``, ``body_conv``,
``upsampler.blocks.<j>``, ``tail_conv``, ``add_mean``.

The network works on the [0, ``rgb_range``] scale (255 for the published models): it subtracts
the DIV2K mean itself but does not rescale, because the toolkit's :class:`SRModel` wrapper already
maps [0, 1] images to the network's range.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from distillsr.errors import DistillsrError
from distillsr.nn.slimmable import (
    DEFAULT_WIDTHS,
    SlimmableConv2d,
    SlimmableNetwork,
    SlimmableUpsampler,
)

DIV2K_RGB_MEAN: tuple[float, float, float] = (0.4488, 0.4371, 0.4040)


class MeanShift(nn.Module):
    """Adds (``sign=+1``) or subtracts (``sign=-1``) ``rgb_range * mean`` per channel, divided by
    ``std``, as the EDSR family's fixed 1x1 conv does.

    The official module is a frozen ``nn.Conv2d``; here ``weight`` and ``bias`` are buffers with
    the same names and shapes, so checkpoints load unchanged while the shift is never trained and
    never counted as a parameter (the official class counts its 2 x 12 frozen scalars). It is not
    sliced: it acts on image channels, which keep their count at every width.
    """

    weight: torch.Tensor
    bias: torch.Tensor

    def __init__(
        self,
        rgb_range: float,
        rgb_mean: Sequence[float] = DIV2K_RGB_MEAN,
        rgb_std: Sequence[float] | None = None,
        sign: int = -1,
    ) -> None:
        super().__init__()
        if sign not in (-1, 1):
            raise ValueError(f"sign must be -1 or +1, got {sign}")
        mean = torch.tensor(list(rgb_mean), dtype=torch.float32)
        std = torch.ones_like(mean) if rgb_std is None else torch.tensor(list(rgb_std), dtype=torch.float32)
        channels = mean.numel()
        self.register_buffer("weight", torch.eye(channels).view(channels, channels, 1, 1) / std.view(-1, 1, 1, 1))
        self.register_buffer("bias", sign * rgb_range * mean / std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, self.bias)


class ResidualBlock(nn.Module):
    """conv3x3 -> ReLU -> conv3x3, scaled by ``res_scale`` and added to the input.

    No activation after the addition (EDSR's block). CSD's CARN reuses this block too, which is
    one of the ways its CARN differs from the original.
    """

    def __init__(self, channels: int, res_scale: float = 1.0, kernel_size: int = 3) -> None:
        super().__init__()
        self.res_scale = res_scale
        self.conv1 = SlimmableConv2d(channels, channels, kernel_size, padding=kernel_size // 2)
        self.act = nn.ReLU(inplace=True)
        self.conv2 = SlimmableConv2d(channels, channels, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.conv2(self.act(self.conv1(x)))
        if self.res_scale != 1.0:
            residual = residual * self.res_scale
        return x + residual


def check_sr_config(scale: int, in_channels: int, rgb_mean: Sequence[float]) -> None:
    """Refuse configurations the mean shift or upsampler cannot serve, before building anything."""
    if not isinstance(scale, int) or scale < 2:
        raise DistillsrError(f"scale must be an integer >= 2, got {scale!r}")
    if len(rgb_mean) != in_channels:
        raise DistillsrError(f"{in_channels} input channels need as many mean values, got {len(rgb_mean)}")


class EDSR(SlimmableNetwork):
    """Enhanced deep residual SR network with width switching.

    ``sub_mean -> head -> body (ResBlocks) -> body_conv (+ head output) -> upsampler -> tail_conv
    -> add_mean``. The head reads all image channels and the tail writes all of them; everything
    in between runs at ``int(w * channels)`` features.

    Use :meth:`baseline` (16 x 64, res_scale 1) and :meth:`large` (32 x 256, res_scale 0.1, CSD's
    teacher) for the two EDSR-paper models.
    """

    def __init__(
        self,
        scale: int,
        num_blocks: int = 16,
        channels: int = 64,
        res_scale: float = 1.0,
        in_channels: int = 3,
        rgb_range: float = 255.0,
        widths: Sequence[float] = DEFAULT_WIDTHS,
        rgb_mean: Sequence[float] = DIV2K_RGB_MEAN,
    ) -> None:
        super().__init__()
        check_sr_config(scale, in_channels, rgb_mean)
        self.scale = scale
        # Registration order follows the official class, so state dicts list keys in the same order.
        self.sub_mean = MeanShift(rgb_range, rgb_mean, sign=-1)
        self.add_mean = MeanShift(rgb_range, rgb_mean, sign=1)
        self.head = SlimmableConv2d(in_channels, channels, 3, padding=1, slice_in=False)
        self.body = nn.ModuleList(ResidualBlock(channels, res_scale) for _ in range(num_blocks))
        self.body_conv = SlimmableConv2d(channels, channels, 3, padding=1)
        self.upsampler = SlimmableUpsampler(scale, channels)
        self.tail_conv = SlimmableConv2d(channels, in_channels, 3, padding=1, slice_out=False)
        self.init_widths(widths)

    @classmethod
    def baseline(cls, scale: int, **kwargs) -> EDSR:
        """The EDSR paper's baseline: 16 blocks x 64 channels, no residual scaling."""
        return cls(scale, num_blocks=16, channels=64, res_scale=1.0, **kwargs)

    @classmethod
    def large(cls, scale: int, **kwargs) -> EDSR:
        """The EDSR paper's full model and CSD's teacher: 32 blocks x 256 channels, res_scale 0.1
        (without the scaling the 256-channel residuals destabilise training)."""
        return cls(scale, num_blocks=32, channels=256, res_scale=0.1, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.sub_mean(x))
        residual = x
        for block in self.body:
            residual = block(residual)
        x = self.body_conv(residual) + x
        return self.add_mean(self.tail_conv(self.upsampler(x)))
