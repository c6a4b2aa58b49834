"""Diverse Branch Block (Ding et al., CVPR 2021): four linear branches that fold into one conv.

Training a kxk conv alongside a 1x1, a 1x1 -> average pool and a 1x1 -> kxk (each followed by
BatchNorm) gives the optimiser a richer parameterisation than a single kxk kernel, yet every
branch is linear in the input, so after training the sum is one kxk conv with a bias.

Why the fold is exact at the borders too: the two branches that put a kxk operator *after* a 1x1
conv + BN pad that intermediate map with the BN's effective bias (what the 1x1 + BN outputs for a
zero input) instead of zeros (:class:`BNAndPad`). A zero-padded kxk conv on the input sees exactly
those values at the border, so the composed kernel reproduces the branch everywhere. Plain zero
padding would make border pixels differ.

Submodule and parameter names follow the official train-time layout of the DBB as used by
DDistill-SR (``dbb_origin``, ``dbb_avg``, ``dbb_1x1``, ``dbb_1x1_kxk`` and their children), so
official train-time state dicts load key for key. Only ``groups=1``, stride 1 and dilation 1 are
supported, which is all DDistill-SR uses.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from distillsr.nn.reparam import (
    Foldable,
    average_kernel,
    compose_1x1_kxk,
    conv_from,
    fuse_bn,
    pad_to,
)


class IdentityBasedConv1x1(nn.Module):
    """A square 1x1 conv whose kernel is ``weight + I``, with ``weight`` starting at zero.

    Starting the 1x1 -> kxk branch at the identity makes it initially a plain kxk conv, so the
    extra branch does not scramble the input early in training. The identity is a non-persistent
    buffer: it follows ``.to()``/``.double()`` but is not part of the state dict (the official
    layout stores only ``weight``).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels, channels, 1, 1))
        self.register_buffer("identity", torch.eye(channels).reshape(channels, channels, 1, 1), persistent=False)

    def kernel(self) -> torch.Tensor:
        """The effective 1x1 kernel (weight plus identity)."""
        return self.weight + self.identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.kernel())


class BNAndPad(nn.Module):
    """BatchNorm, then padding with the BN's effective bias so a following kxk conv folds exactly.

    The border value uses the running statistics even in training mode and carries no gradient,
    as in the official implementation; both only matter while training, never for the fold.
    """

    def __init__(self, channels: int, pad: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels)
        self.pad = pad

    def pad_values(self) -> torch.Tensor:
        """Per-channel output of the (eval-mode) BN for a zero input."""
        bn = self.bn
        scale = torch.rsqrt(bn.running_var + bn.eps)
        if bn.affine:
            return (bn.bias - bn.running_mean * bn.weight * scale).detach()
        return -bn.running_mean * scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn(x)
        if self.pad == 0:
            return out
        p = self.pad
        n, c, h, w = out.shape
        border = self.pad_values().to(out.dtype).reshape(1, c, 1, 1)
        padded = border.expand(n, c, h + 2 * p, w + 2 * p).contiguous()
        padded[:, :, p:-p, p:-p] = out
        return padded


class ConvBN(nn.Sequential):
    """A bias-free conv followed by BatchNorm (keys ``conv.weight``, ``bn.*``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__(OrderedDict(
            conv=nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
            bn=nn.BatchNorm2d(out_channels),
        ))

    def fused(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Kernel and bias of the conv with the BN folded in."""
        return fuse_bn(self.conv.weight, None, self.bn)


class AvgBranch(nn.Sequential):
    """DBB branch 3: ``1x1 conv -> BNAndPad -> kxk average pool -> BN``.

    Without the 1x1 (``with_conv=False``, the official ``groups >= out_channels`` case) the pool
    reads the zero-padded input directly; that needs ``in_channels == out_channels``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, with_conv: bool = True) -> None:
        pad = kernel_size // 2
        if with_conv:
            layers = OrderedDict(
                conv=nn.Conv2d(in_channels, out_channels, 1, bias=False),
                bn=BNAndPad(out_channels, pad),
                avg=nn.AvgPool2d(kernel_size, stride=1, padding=0),
            )
        else:
            # count_include_pad (the default) makes a zero-padded pool a plain 1/k^2 kernel.
            layers = OrderedDict(avg=nn.AvgPool2d(kernel_size, stride=1, padding=pad))
        layers["avgbn"] = nn.BatchNorm2d(out_channels)
        super().__init__(layers)
        self.kernel_size = kernel_size

    def fused(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Kernel and bias of the whole branch as one kxk conv."""
        weight = self.avgbn.weight
        pool = average_kernel(weight.shape[0], self.kernel_size, dtype=weight.dtype, device=weight.device)
        pool_kernel, pool_bias = fuse_bn(pool, None, self.avgbn)
        if "conv" not in self._modules:
            return pool_kernel, pool_bias
        first_kernel, first_bias = fuse_bn(self.conv.weight, None, self.bn.bn)
        return compose_1x1_kxk(first_kernel, first_bias, pool_kernel, pool_bias)


class OneByOneKxK(nn.Sequential):
    """DBB branch 4: ``1x1 conv -> BNAndPad -> kxk conv -> BN``.

    With ``internal_channels == in_channels`` the 1x1 is an :class:`IdentityBasedConv1x1`
    (``idconv1``), otherwise a plain conv (``conv1``), as in the official code.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, internal_channels: int) -> None:
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        if internal_channels == in_channels:
            layers["idconv1"] = IdentityBasedConv1x1(in_channels)
        else:
            layers["conv1"] = nn.Conv2d(in_channels, internal_channels, 1, bias=False)
        layers["bn1"] = BNAndPad(internal_channels, kernel_size // 2)
        layers["conv2"] = nn.Conv2d(internal_channels, out_channels, kernel_size, padding=0, bias=False)
        layers["bn2"] = nn.BatchNorm2d(out_channels)
        super().__init__(layers)

    def fused(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Kernel and bias of the whole branch as one kxk conv."""
        first = self.idconv1.kernel() if "idconv1" in self._modules else self.conv1.weight
        first_kernel, first_bias = fuse_bn(first, None, self.bn1.bn)
        second_kernel, second_bias = fuse_bn(self.conv2.weight, None, self.bn2)
        return compose_1x1_kxk(first_kernel, first_bias, second_kernel, second_bias)


class DiverseBranches(Foldable):
    """The four DBB branches registered *directly* on the module, plus their sum and its fold.

    A base class rather than a child module because the official layouts put the branches flat
    next to other members (DDistill-SR's unit has ``dy_branch`` beside ``dbb_origin``); subclasses
    call :meth:`_add_branches` in ``__init__`` where the branches belong in registration order.
    """

    kernel_size: int

    def _add_branches(self, in_channels: int, out_channels: int, kernel_size: int, internal_channels: int | None) -> None:
        if kernel_size % 2 != 1:
            raise ValueError(f"a DBB needs an odd kernel size (centred 'same' padding), got {kernel_size}")
        # The official rule for groups=1: the 1x1 branch and the conv before the pool exist only
        # when groups < out_channels, i.e. out_channels > 1.
        full = out_channels > 1
        if not full and in_channels != out_channels:
            raise ValueError("a DBB with one output channel pools its input directly, so it needs one input channel")
        if internal_channels is None:
            internal_channels = in_channels if full else 2 * in_channels
        self.kernel_size = kernel_size
        self.dbb_origin = ConvBN(in_channels, out_channels, kernel_size)
        self.dbb_avg = AvgBranch(in_channels, out_channels, kernel_size, with_conv=full)
        if full:
            self.dbb_1x1 = ConvBN(in_channels, out_channels, 1)
        self.dbb_1x1_kxk = OneByOneKxK(in_channels, out_channels, kernel_size, internal_channels)

    def static(self, x: torch.Tensor) -> torch.Tensor:
        """Sum of the branches (the train-time DBB output)."""
        out = self.dbb_origin(x)
        if "dbb_1x1" in self._modules:
            out = out + self.dbb_1x1(x)
        out = out + self.dbb_avg(x)
        return out + self.dbb_1x1_kxk(x)

    def equivalent_kernel_bias(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Kernel and bias of the single conv equal to :meth:`static` (eval-mode BN).

        Differentiable, so it can also serve as a training-time penalty or for quantisation.
        """
        kernel, bias = self.dbb_origin.fused()
        if "dbb_1x1" in self._modules:
            one_kernel, one_bias = self.dbb_1x1.fused()
            kernel, bias = kernel + pad_to(one_kernel, self.kernel_size), bias + one_bias
        for branch in (self.dbb_avg, self.dbb_1x1_kxk):
            branch_kernel, branch_bias = branch.fused()
            kernel, bias = kernel + branch_kernel, bias + branch_bias
        return kernel, bias

    def folded_conv(self) -> nn.Conv2d:
        """A plain ``nn.Conv2d`` with bias, same padding, equal to :meth:`static`."""
        with torch.no_grad():
            kernel, bias = self.equivalent_kernel_bias()
        return conv_from(kernel, bias, padding=self.kernel_size // 2)


class DiverseBranchBlock(DiverseBranches):
    """A train-time kxk conv (``in -> out``, stride 1, same padding) made of four DBB branches.

    ``internal_channels`` is the width between the 1x1 and the kxk of branch 4; the default
    (``in_channels``) makes that 1x1 identity-initialised, as in the official code.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, *, internal_channels: int | None = None) -> None:
        super().__init__()
        self._add_branches(in_channels, out_channels, kernel_size, internal_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.static(x)

    def fold(self) -> nn.Conv2d:
        """The deploy conv; exact (to rounding) in eval mode, borders included."""
        return self.folded_conv()

    @classmethod
    def fold_example(cls) -> tuple[DiverseBranchBlock, torch.Tensor]:
        """All four branches (out > 1), a 1x1 -> kxk branch through a plain conv (internal != in)."""
        return cls.random_example(cls(4, 6, 3, internal_channels=5), (2, 4, 9, 7))
