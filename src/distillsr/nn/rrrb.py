"""RRRB: the re-parameterizable residual block that replaces each 3x3 conv of DIPNet's student.

Training a wide ``3x3 -> 1x1`` pair with a parallel 1x1 and an identity gives the optimiser more
paths than a single 3x3 conv, but the whole block is still *linear*, so after training it folds
into one ``C -> C`` 3x3 conv and the deployed network pays nothing for the extra width.

Why the fold is exact, border included: the squeeze conv is 1x1, so it mixes channels of one pixel
and never reads padding. Whatever the zero-padded 3x3 expand conv produced at a border pixel, the
squeeze maps it pixel by pixel, which is the same as applying the composed kernel with the same
zero padding. (A 1x1 *followed by* a 3x3 would not fold exactly with a bias, because the 3x3 would
pad the 1x1's output with zeros rather than its bias; that order is not used here.)

The activation is left to the caller, as in the student where each folded conv is followed by
the block's LeakyReLU.
"""

from __future__ import annotations

import torch
from torch import nn

from distillsr.nn.reparam import Foldable, conv_from, identity_kernel, pad_to


class RRRB(Foldable):
    """``y = squeeze(expand(x)) + shortcut(x) + x`` with ``expand`` 3x3 ``C -> E`` and 1x1 convs
    ``squeeze`` ``E -> C`` and ``shortcut`` ``C -> C``; folds into one 3x3 ``C -> C`` conv.

    ``bias`` gives all three convs a bias (and the folded conv one); DIPNet's block convs have
    none, which is the default. ``expansion`` (E) defaults to 256, the width of the factsheet
    figure.
    """

    def __init__(self, channels: int, expansion: int = 256, *, bias: bool = False) -> None:
        super().__init__()
        self.channels = channels
        self.expansion = expansion
        self.bias = bias
        self.expand = nn.Conv2d(channels, expansion, 3, padding=1, bias=bias)
        self.squeeze = nn.Conv2d(expansion, channels, 1, bias=bias)
        self.shortcut = nn.Conv2d(channels, channels, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.squeeze(self.expand(x)) + self.shortcut(x) + x

    @torch.no_grad()
    def folded_kernel(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Kernel ``[C, C, 3, 3]`` and bias ``[C]`` (None without biases) of the equivalent conv."""
        squeeze = self.squeeze.weight[:, :, 0, 0]  # [C, E]
        kernel = torch.einsum("ce,eihw->cihw", squeeze, self.expand.weight)
        kernel = kernel + pad_to(self.shortcut.weight, 3)
        kernel = kernel + identity_kernel(self.channels, 3, dtype=kernel.dtype, device=kernel.device)
        if not self.bias:
            return kernel, None
        bias = squeeze @ self.expand.bias + self.squeeze.bias + self.shortcut.bias
        return kernel, bias

    def fold(self) -> nn.Conv2d:
        """A plain ``nn.Conv2d(C, C, 3, padding=1, bias=self.bias)`` computing the same map."""
        kernel, bias = self.folded_kernel()
        return conv_from(kernel, bias, padding=1)

    @classmethod
    def fold_example(cls) -> tuple[RRRB, torch.Tensor]:
        """With biases, so the folded bias is checked as well as the kernel."""
        return cls.random_example(cls(6, 12, bias=True), (2, 6, 9, 7))
