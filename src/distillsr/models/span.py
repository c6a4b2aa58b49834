"""SPAN (Wan et al., CVPRW 2024): the swift parameter-free attention network, NTIRE 2024 efficient-SR
winner; as released in the NTIRE 2025 kit (``Amazingren/NTIRE2025_ESR``, ``models/team46_SPAN.py``).

The input is centred on the DIV2K mean and scaled by ``img_range`` (255) inside the network (the
output is not shifted back: the network learns it), so the model takes 0-1 pixels.
``conv_1`` -> ``num_blocks`` SPABs -> ``conv_2`` on the last block's output, then a 1x1
(``conv_cat``) over the concatenation of the shallow features, that, the first block's output and
the last block's first conv (after its SiLU: the official code activates it in place), then conv +
PixelShuffle.

A SPAB is three 3x3 convs with SiLU between them and a *parameter-free* attention: with
``o = c3_r(...)``, the block returns ``(o + x) * (sigmoid(o) - 0.5)``.

Every 3x3 conv except the upsampler's is a :class:`~distillsr.nn.conv3xc.Conv3XC` when training
(``deploy=False``) and its folded ``eval_conv`` deployed, the layout of the official files.
``cat_channels`` is ``conv_cat``'s width: SPAN's own code uses ``channels``, the kit's submission
(28 channels) narrows it to 20.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from distillsr.nn.conv3xc import rep_conv3x3
from distillsr.nn.upsample import pixel_shuffle_tail

#: The DIV2K RGB mean SPAN subtracts from its input (BasicSR's default).
RGB_MEAN = (0.4488, 0.4371, 0.4040)


class SPAB(nn.Module):
    """Swift parameter-free attention block; returns its output and its first conv's activated output."""

    def __init__(self, channels: int, *, deploy: bool = True, gain: int = 2) -> None:
        super().__init__()
        self.c1_r = rep_conv3x3(channels, channels, deploy=deploy, gain=gain)
        self.c2_r = rep_conv3x3(channels, channels, deploy=deploy, gain=gain)
        self.c3_r = rep_conv3x3(channels, channels, deploy=deploy, gain=gain)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # The official block applies an in-place SiLU to the first conv's output, so the tensor it
        # returns beside its output is the *activated* first conv: that is what SPAN concatenates.
        out1 = F.silu(self.c1_r(x))
        out3 = self.c3_r(F.silu(self.c2_r(out1)))
        attention = torch.sigmoid(out3) - 0.5
        return (out3 + x) * attention, out1


class SPAN(nn.Module):
    """SPAN with ``channels`` features and ``num_blocks`` SPABs (6 in every release)."""

    def __init__(
        self,
        scale: int = 4,
        in_channels: int = 3,
        channels: int = 48,
        cat_channels: int | None = None,
        num_blocks: int = 6,
        img_range: float = 255.0,
        deploy: bool = True,
        gain: int = 2,
    ) -> None:
        super().__init__()
        if in_channels != len(RGB_MEAN):
            raise ValueError(f"SPAN centres RGB input on the DIV2K mean, so it takes 3 channels, not {in_channels}")
        if num_blocks < 1:
            raise ValueError(f"SPAN needs at least one block, got {num_blocks}")
        cat_channels = channels if cat_channels is None else cat_channels
        self.scale = scale
        self.img_range = img_range
        self.num_blocks = num_blocks
        # not in the official state dict (a plain attribute there): a buffer that follows .to() only
        self.register_buffer("mean", torch.tensor(RGB_MEAN).reshape(1, 3, 1, 1), persistent=False)
        self.conv_1 = rep_conv3x3(in_channels, channels, deploy=deploy, gain=gain)
        for index in range(1, num_blocks + 1):
            self.add_module(f"block_{index}", SPAB(channels, deploy=deploy, gain=gain))
        self.conv_cat = nn.Conv2d(4 * channels, cat_channels, 1)
        self.conv_2 = rep_conv3x3(channels, channels, deploy=deploy, gain=gain)
        self.upsampler = pixel_shuffle_tail(cat_channels, in_channels, scale)

    def blocks(self) -> list[SPAB]:
        """The SPABs in order (registered as ``block_1``.. to match the official keys)."""
        return [getattr(self, f"block_{index}") for index in range(1, self.num_blocks + 1)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.conv_1((x - self.mean) * self.img_range)
        h = shallow
        first = None
        for block in self.blocks():
            h, last_inner = block(h)
            first = h if first is None else first
        out = self.conv_cat(torch.cat([shallow, self.conv_2(h), first, last_inner], dim=1))
        return self.upsampler(out)
