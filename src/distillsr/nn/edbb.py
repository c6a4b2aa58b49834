"""EDBB: EFDN's edge-enhanced diverse branch block (Wang, NTIRE 2022), a 3x3 conv + PReLU to deploy.

At training time the 3x3 conv of the block is the sum of linear branches that look for edges
explicitly (after ECBSR and DBB):

* a plain 3x3 conv (``rep_conv``) and a 1x1 conv (``conv1x1``);
* three edge filters, each a 1x1 conv followed by a fixed 3x3 depthwise filter (Sobel-x, Sobel-y,
  Laplacian) with a learnt per-channel scale and bias (``conv1x1_sbx``, ``conv1x1_sby``,
  ``conv1x1_lpl``: :class:`EdgeFilter`);
* optionally a 1x1 -> 3x3 chain (``conv1x1_3x3``) and the identity.

The sum is one 3x3 conv, followed by the block's PReLU; the deployed block (:class:`EDBBDeploy`)
is that conv and that PReLU under the names of the official deploy files (``rep_conv``, ``act``).

Why the fold is exact at the borders: in the official code the 1x1 output feeding a 3x3 filter is
padded with the 1x1's *bias* (not zeros). Here the branches compute the same thing as a 3x3 filter
of the bias-free 1x1 output with zero padding plus the filter's response to the constant bias
(its sum times the bias), which is what the folded conv computes too.

The official defaults are kept: no identity and no 1x1 -> 3x3 branch (``with_idt=False,
with_13=False``; the official module still creates the unused 1x1 -> 3x3 weights, this one does not).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from distillsr.nn.reparam import Foldable, compose_1x1_kxk, conv_from, identity_kernel, pad_to

#: The fixed 3x3 filters of the edge branches, rows top to bottom (the official masks).
EDGE_FILTERS: dict[str, tuple[tuple[float, ...], ...]] = {
    "sobel_x": ((1.0, 0.0, -1.0), (2.0, 0.0, -2.0), (1.0, 0.0, -1.0)),
    "sobel_y": ((1.0, 2.0, 1.0), (0.0, 0.0, 0.0), (-1.0, -2.0, -1.0)),
    "laplacian": ((0.0, 1.0, 0.0), (1.0, -4.0, 1.0), (0.0, 1.0, 0.0)),
}


class EdgeFilter(nn.Module):
    """A 1x1 conv, then a fixed 3x3 edge filter per channel, scaled per channel, plus a bias.

    The filter is a non-persistent buffer (it is not learnt and not part of the state dict); the
    scale and the bias start near zero (N(0, 1e-3)), as in the official code, so the branch starts
    almost silent.
    """

    def __init__(self, in_channels: int, out_channels: int, edge: str) -> None:
        super().__init__()
        if edge not in EDGE_FILTERS:
            raise ValueError(f"unknown edge filter {edge!r}; known: {', '.join(EDGE_FILTERS)}")
        self.edge = edge
        self.conv = nn.Conv2d(in_channels, out_channels, 1)
        self.scale = nn.Parameter(torch.randn(out_channels, 1, 1, 1) * 1e-3)
        self.bias = nn.Parameter(torch.randn(out_channels) * 1e-3)
        mask = torch.tensor(EDGE_FILTERS[edge]).expand(out_channels, 1, 3, 3).clone()
        self.register_buffer("mask", mask, persistent=False)

    def depthwise(self) -> torch.Tensor:
        """The scaled filter of every channel, ``[C_out, 1, 3, 3]``."""
        return self.scale * self.mask

    def constant(self) -> torch.Tensor:
        """The output's constant part: the filter's response to the 1x1's bias, plus the bias."""
        return self.bias + self.depthwise().sum(dim=(1, 2, 3)) * self.conv.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv2d(x, self.conv.weight)  # the bias enters through constant(): see the module docstring
        out = F.conv2d(y, self.depthwise(), padding=1, groups=y.shape[1])
        return out + self.constant().reshape(1, -1, 1, 1)

    def kernel_bias(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Kernel ``[C_out, C_in, 3, 3]`` and bias of the equivalent 3x3 conv."""
        return self.depthwise() * self.conv.weight, self.constant()


class ExpandConv3x3(nn.Module):
    """A 1x1 conv ``C_in -> M`` then a 3x3 conv ``M -> C_out``, the 1x1 output padded with its bias."""

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, mid_channels, 1)
        self.conv2 = nn.Conv2d(mid_channels, out_channels, 3, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv2d(x, self.conv1.weight)
        _, bias = self.kernel_bias()
        return F.conv2d(y, self.conv2.weight, padding=1) + bias.reshape(1, -1, 1, 1)

    def kernel_bias(self) -> tuple[torch.Tensor, torch.Tensor]:
        return compose_1x1_kxk(self.conv1.weight, self.conv1.bias, self.conv2.weight, self.conv2.bias)


class EDBBDeploy(nn.Module):
    """The deployed EDBB: ``act(rep_conv(x))``, a 3x3 conv with bias and a per-channel PReLU."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.rep_conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.act = nn.PReLU(num_parameters=out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.rep_conv(x))


class EDBB(Foldable):
    """The train-time EDBB: ``act(sum of the branches)``; folds into an :class:`EDBBDeploy`.

    ``identity`` adds ``x`` (needs ``in == out`` channels); ``expand`` adds the 1x1 -> 3x3 branch
    with ``round(out_channels * depth_multiplier)`` channels between its convs.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        identity: bool = False,
        expand: bool = False,
        depth_multiplier: float = 1.0,
    ) -> None:
        super().__init__()
        if identity and in_channels != out_channels:
            raise ValueError(f"an EDBB identity branch needs in == out channels, got {in_channels} -> {out_channels}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.identity = identity
        self.rep_conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.conv1x1 = nn.Conv2d(in_channels, out_channels, 1)
        if expand:
            self.conv1x1_3x3 = ExpandConv3x3(in_channels, out_channels, max(1, int(out_channels * depth_multiplier)))
        self.conv1x1_sbx = EdgeFilter(in_channels, out_channels, "sobel_x")
        self.conv1x1_sby = EdgeFilter(in_channels, out_channels, "sobel_y")
        self.conv1x1_lpl = EdgeFilter(in_channels, out_channels, "laplacian")
        self.act = nn.PReLU(num_parameters=out_channels)

    def _branches(self) -> list[nn.Module]:
        names = ("conv1x1_3x3", "conv1x1_sbx", "conv1x1_sby", "conv1x1_lpl")
        return [self._modules[name] for name in names if name in self._modules]

    def linear(self, x: torch.Tensor) -> torch.Tensor:
        """The sum of the branches, before the PReLU."""
        out = self.rep_conv(x) + self.conv1x1(x)
        for branch in self._branches():
            out = out + branch(x)
        return out + x if self.identity else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.linear(x))

    @torch.no_grad()
    def equivalent_kernel_bias(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Kernel and bias of the one 3x3 conv equal to :meth:`linear`."""
        kernel = self.rep_conv.weight + pad_to(self.conv1x1.weight, 3)
        bias = self.rep_conv.bias + self.conv1x1.bias
        for branch in self._branches():
            branch_kernel, branch_bias = branch.kernel_bias()
            kernel, bias = kernel + branch_kernel, bias + branch_bias
        if self.identity:
            kernel = kernel + identity_kernel(self.out_channels, 3, dtype=kernel.dtype, device=kernel.device)
        return kernel, bias

    def fold(self) -> EDBBDeploy:
        kernel, bias = self.equivalent_kernel_bias()
        folded = EDBBDeploy(self.in_channels, self.out_channels)
        folded.rep_conv = conv_from(kernel, bias, padding=1)
        folded.act = copy.deepcopy(self.act)
        return folded

    @classmethod
    def fold_example(cls) -> tuple[EDBB, torch.Tensor]:
        """Every branch on (identity, 1x1 -> 3x3 with a non-trivial width), so each term is checked."""
        return cls.random_example(cls(5, 5, identity=True, expand=True, depth_multiplier=1.4), (2, 5, 9, 7))


def edge_conv3x3(in_channels: int, out_channels: int, *, deploy: bool) -> nn.Module:
    """EFDN's 3x3 conv + PReLU slot: :class:`EDBB` to train, :class:`EDBBDeploy` deployed."""
    return EDBBDeploy(in_channels, out_channels) if deploy else EDBB(in_channels, out_channels)
