"""Conv3XC: SPAN's re-parameterizable 3x3 convolution (also DIPNet-slim-v2's, NTIRE 2025).

At training time a 3x3 conv ``C_in -> C_out`` is over-parameterised as two parallel linear paths:

* an expand-conv-squeeze chain: a 1x1 conv ``C_in -> g*C_in``, a 3x3 conv ``g*C_in -> g*C_out``
  without padding, and a 1x1 conv ``g*C_out -> C_out``, run on the input zero-padded by one pixel;
* a 1x1 skip conv ``C_in -> C_out``.

Everything is linear, so the sum is one 3x3 conv; the deployed network holds only that conv, under
the name the official deploy files use (``<name>.eval_conv``: :class:`EvalConv`).

Why the fold is exact at the borders: the chain pads the *input* with zeros and then applies a 1x1
conv, so the padded ring of the intermediate map holds the 1x1's bias, not zero. A single 3x3 conv
with zero padding sees the same thing: a padded pixel contributes nothing through the kernel, and
the bias of the first 1x1 reaches every output through all nine taps, which is the constant term
of the folded bias. Without biases both sides are plain zero padding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from distillsr.nn.reparam import Foldable, conv_from, pad_to


class EvalConv(nn.Module):
    """The deploy form of :class:`Conv3XC`: one 3x3 conv with 'same' padding, named ``eval_conv``."""

    def __init__(self, in_channels: int, out_channels: int, *, bias: bool = True) -> None:
        super().__init__()
        self.eval_conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.eval_conv(x)


class Conv3XC(Foldable):
    """``y = squeeze(conv3x3(expand(pad(x)))) + skip(x)``; folds into an :class:`EvalConv`.

    ``gain`` is the expansion factor ``g`` of the chain (SPAN uses 2). ``bias`` gives every conv a
    bias (SPAN: yes; DIPNet-slim-v2's trunk and block convs: no); the folded conv has one exactly
    when the branches do. Submodule names are those of SPAN's train-time code (``sk``, ``conv.0``,
    ``conv.1``, ``conv.2``), which also stores the folded ``eval_conv``; here the folded conv only
    exists after :meth:`fold`, so a train-form state dict holds each weight once.
    """

    def __init__(self, in_channels: int, out_channels: int, *, gain: int = 2, bias: bool = True) -> None:
        super().__init__()
        if gain < 1:
            raise ValueError(f"the Conv3XC gain must be at least 1, got {gain}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.has_bias = bias
        self.sk = nn.Conv2d(in_channels, out_channels, 1, bias=bias)
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, in_channels * gain, 1, bias=bias),
            nn.Conv2d(in_channels * gain, out_channels * gain, 3, padding=0, bias=bias),
            nn.Conv2d(out_channels * gain, out_channels, 1, bias=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (1, 1, 1, 1))) + self.sk(x)

    @torch.no_grad()
    def equivalent_kernel_bias(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Kernel ``[C_out, C_in, 3, 3]`` and bias ``[C_out]`` (None without biases) of the folded conv."""
        expand, middle, squeeze = self.conv
        first = expand.weight[:, :, 0, 0]  # [g*C_in, C_in]
        last = squeeze.weight[:, :, 0, 0]  # [C_out, g*C_out]
        kernel = torch.einsum("om,mahw,ai->oihw", last, middle.weight, first) + pad_to(self.sk.weight, 3)
        if not self.has_bias:
            return kernel, None
        # the first 1x1's bias reaches the 3x3 through all nine taps (the padded ring included)
        inner = middle.bias + torch.einsum("mahw,a->m", middle.weight, expand.bias)
        bias = last @ inner + squeeze.bias + self.sk.bias
        return kernel, bias

    def fold(self) -> EvalConv:
        kernel, bias = self.equivalent_kernel_bias()
        folded = EvalConv(self.in_channels, self.out_channels, bias=self.has_bias)
        folded.eval_conv = conv_from(kernel, bias, padding=1)
        return folded

    @classmethod
    def fold_example(cls) -> tuple[Conv3XC, torch.Tensor]:
        """In != out channels and a gain of 3, with biases, so every term of the fold is exercised."""
        return cls.random_example(cls(4, 5, gain=3, bias=True), (2, 4, 9, 7))


def rep_conv3x3(in_channels: int, out_channels: int, *, deploy: bool, gain: int = 2, bias: bool = True) -> nn.Module:
    """A 3x3 conv slot of SPAN-style networks: :class:`Conv3XC` to train, :class:`EvalConv` deployed."""
    if deploy:
        return EvalConv(in_channels, out_channels, bias=bias)
    return Conv3XC(in_channels, out_channels, gain=gain, bias=bias)
