"""MATLAB-bicubic upsampling as a model: the baseline row of every SR table, and a residual base."""

from __future__ import annotations

import torch
from torch import nn

from distillsr.imaging.resize import imresize_torch


class BicubicUpsampler(nn.Module):
    """Upscale ``(N, C, H, W)`` images in [0, 1] by ``scale`` with MATLAB's bicubic kernel.

    With ``emulate_uint8`` (the default, for evaluation) the input is taken as 8-bit pixels and
    rounded to the 8-bit grid after each 1-D pass, exactly as MATLAB's ``imresize`` treats a uint8
    image — this is what reproduces the published bicubic scores (Set5 x4 28.43 dB). Set it to
    False for a differentiable float resize (e.g. a global residual during training).
    """

    def __init__(self, scale: int, emulate_uint8: bool = True) -> None:
        super().__init__()
        self.scale = int(scale)
        self.emulate_uint8 = emulate_uint8

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.emulate_uint8:
            return imresize_torch(x, float(self.scale))
        pixels = torch.round(x.detach().clamp(0, 1) * 255).to(torch.uint8)
        return imresize_torch(pixels, float(self.scale)).to(x.dtype) / 255

    def extra_repr(self) -> str:
        return f"scale={self.scale}, emulate_uint8={self.emulate_uint8}"
