"""One reparameterization protocol for every block with a train-time and a deploy-time form.

A block that trains with extra branches (diverse-branch block, RRRB, BatchNorm after a conv) and
deploys as one plain layer subclasses :class:`Foldable` and implements :meth:`Foldable.fold`,
returning the deploy-time module that computes the same function. :func:`deploy` folds a whole
model, so code that exports or benchmarks a model never needs to know which blocks it contains.

The kernel algebra that folds need (BatchNorm into a conv, a 1x1 kernel padded to kxk, a 1x1
composed with a kxk, average pooling as a kernel) lives here too, so each block's ``fold`` is a
few lines of composition that can be checked against its train-time forward.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Foldable(nn.Module):
    """A module with an equivalent, cheaper deploy form.

    Every concrete subclass also implements :meth:`fold_example`: the test suite finds all
    subclasses by itself and checks each fold against its train-time forward, so a new foldable
    block is tested without anyone listing it, and one without an example fails that test.
    A subclass that does not implement :meth:`fold` (an abstract base such as ``DiverseBranches``)
    cannot be deployed and needs no example; its concrete subclasses each bring their own.
    """

    def fold(self) -> nn.Module:
        """The deploy-time module: same outputs (to float rounding), fewer or plainer layers."""
        raise NotImplementedError

    @classmethod
    def fold_example(cls) -> tuple[nn.Module, torch.Tensor]:
        """A small instance of exactly this class in a non-trivial state, and an input for it.

        Implementations build the instance and return ``cls.random_example(instance, shape)``, so
        its weights *and* BatchNorm running statistics are random: with the default statistics
        (mean 0, variance 1) a fold that ignores them would still pass.
        """
        raise NotImplementedError(f"{cls.__module__}.{cls.__qualname__} does not implement Foldable.fold_example")

    @staticmethod
    def random_example(module: nn.Module, input_shape: tuple[int, ...], *, seed: int = 0) -> tuple[nn.Module, torch.Tensor]:
        """``module`` with random parameters and BatchNorm statistics (in place), and a random input.

        Seeded and independent of the global RNG, so a failing fold check reproduces exactly.
        Parameters get N(0, 0.1); BatchNorm scales stay near 1 and variances in [0.5, 1.5], which
        keeps outputs of order one, so an absolute tolerance means the same for every block.
        """
        generator = torch.Generator().manual_seed(seed)

        def normal(like: torch.Tensor, std: float) -> torch.Tensor:
            return (torch.randn(like.shape, generator=generator, dtype=torch.float64) * std).to(like.dtype)

        with torch.no_grad():
            for parameter in module.parameters():
                parameter.copy_(normal(parameter, 0.1))
            for norm in module.modules():
                if isinstance(norm, nn.modules.batchnorm._BatchNorm) and norm.track_running_stats:
                    if norm.affine:
                        norm.weight.copy_(1.0 + normal(norm.weight, 0.3))
                        norm.bias.copy_(normal(norm.bias, 0.3))
                    norm.running_mean.copy_(normal(norm.running_mean, 0.3))
                    spread = torch.rand(norm.running_var.shape, generator=generator, dtype=torch.float64)
                    norm.running_var.copy_((0.5 + spread).to(norm.running_var.dtype))
        return module, torch.randn(input_shape, generator=generator, dtype=torch.float64).float()


def deploy(model: nn.Module) -> nn.Module:
    """Fold every :class:`Foldable` in ``model`` (the outermost one at each branch) and return it.

    Folding happens in place for the children of ``model``; the returned object is ``model``
    itself unless ``model`` is foldable as a whole. The result is in eval mode, since folded
    BatchNorm statistics are frozen.
    """
    if isinstance(model, Foldable):
        return model.fold().eval()
    for name, child in list(model.named_children()):
        folded = deploy(child)
        if folded is not child:
            setattr(model, name, folded)
    return model.eval()


def is_deployed(model: nn.Module) -> bool:
    """True when no foldable block is left."""
    return not any(isinstance(m, Foldable) for m in model.modules())


def fuse_bn(kernel: torch.Tensor, bias: torch.Tensor | None, bn: nn.BatchNorm2d | nn.BatchNorm1d) -> tuple[torch.Tensor, torch.Tensor]:
    """Kernel and bias of ``bn(conv(x))`` for a conv with ``kernel`` and ``bias`` (eval-mode BN)."""
    std = torch.sqrt(bn.running_var + bn.eps)
    gamma = bn.weight if bn.weight is not None else torch.ones_like(std)
    beta = bn.bias if bn.bias is not None else torch.zeros_like(std)
    scale = gamma / std
    shape = (-1,) + (1,) * (kernel.dim() - 1)
    base = bias if bias is not None else torch.zeros_like(bn.running_mean)
    return kernel * scale.reshape(shape), beta + (base - bn.running_mean) * scale


def pad_to(kernel: torch.Tensor, size: int) -> torch.Tensor:
    """Zero-pad a centred odd kernel (e.g. 1x1) to ``size x size``."""
    pad = (size - kernel.shape[-1]) // 2
    return F.pad(kernel, [pad, pad, pad, pad])


def compose_1x1_kxk(
    kernel_1x1: torch.Tensor, bias_1x1: torch.Tensor, kernel_kxk: torch.Tensor, bias_kxk: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """One kxk conv equal to ``conv_kxk(conv_1x1(x))`` (groups = 1).

    Exact only when the 1x1 output's padding for the kxk conv carries the 1x1 *bias* (not zeros),
    which is what BNAndPad-style blocks do; plain zero padding makes the border differ.
    """
    kernel = torch.einsum("omhw,mi->oihw", kernel_kxk, kernel_1x1[:, :, 0, 0])
    bias = bias_kxk + torch.einsum("omhw,m->o", kernel_kxk, bias_1x1)
    return kernel, bias


def average_kernel(channels: int, size: int, dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """The kxk kernel of a per-channel average pool: 1/k^2 on the channel diagonal."""
    kernel = torch.zeros(channels, channels, size, size, dtype=dtype, device=device)
    kernel[torch.arange(channels), torch.arange(channels)] = 1.0 / (size * size)
    return kernel


def identity_kernel(channels: int, size: int, dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """The kxk kernel of the identity map (1 at the centre of the channel diagonal)."""
    kernel = torch.zeros(channels, channels, size, size, dtype=dtype, device=device)
    kernel[torch.arange(channels), torch.arange(channels), size // 2, size // 2] = 1.0
    return kernel


def conv_from(kernel: torch.Tensor, bias: torch.Tensor | None, *, stride: int = 1, padding: int | None = None) -> nn.Conv2d:
    """A plain ``nn.Conv2d`` holding ``kernel`` and ``bias`` (padding defaults to 'same')."""
    out_channels, in_channels, kh, kw = kernel.shape
    conv = nn.Conv2d(
        in_channels, out_channels, (kh, kw), stride=stride,
        padding=kh // 2 if padding is None else padding, bias=bias is not None,
    ).to(device=kernel.device, dtype=kernel.dtype)
    with torch.no_grad():
        conv.weight.copy_(kernel)
        if bias is not None:
            conv.bias.copy_(bias)
    return conv
