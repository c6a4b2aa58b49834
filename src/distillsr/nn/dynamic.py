"""DDistill-SR's reparameterized dynamic unit (RDU): a DBB whose output is modulated per image.

The released code implements "dynamic convolution decomposition" (DCD, Li et al., ICLR 2021): the
effective conv of an image ``x`` is ``W(x) = Λ(x) · W_static + P (I + Φ(x)) Q``, where

* ``W_static`` is a :mod:`DBB <distillsr.nn.dbb>` at train time and one plain conv
  (``dbb_reparam``) at deploy time,
* ``Λ(x)`` is a per-output-channel scale in [0, 2] and ``Φ(x)`` an ``L x L`` channel-fusion
  matrix, both predicted from the globally pooled input,
* ``Q`` (``C_in -> L``) and ``P`` (``L -> C_out``) are 1x1 convs with BatchNorms around the fusion.

Λ multiplies the *whole* static sum, so folding the DBB is exact with the dynamic branch kept as
is. The unit returns both its output and the dynamic residual ``P(I + Φ)Q x``, which DDistill-SR's
fusion (DDF) consumes.

Module names follow the official layout: an :class:`RDU` holds ``unit``, which holds ``dy_branch``
(``q``, ``p``, ``bn1``, ``bn2``, ``fc.0``, ``fc.1.fc.0``, ``fc_phi``, ``fc_scale``) next to either
the DBB branches (train) or ``dbb_reparam`` (deploy).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from distillsr.nn.dbb import DiverseBranches
from distillsr.nn.global_stats import spatial_moments


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """``relu6(x + 3) / 3``: DCD's gate, in [0, 2] (1 at zero), not the usual [0, 1] version."""
    return F.relu6(x + 3.0) / 3.0


class SqueezeGate(nn.Module):
    """DCD's ``SEModule_small``: ``y * hsig(Linear(y))`` on a pooled feature vector.

    The Linear sits at ``fc.0`` because the official module wraps it with the gate in a
    Sequential; the gate has no parameters, so it is applied functionally here.
    """

    def __init__(self, features: int) -> None:
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(features, features, bias=False))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return y * hard_sigmoid(self.fc(y))


class DynamicBranch(nn.Module):
    """Predicts Λ(x) and computes the DCD residual ``P · (BN1d(Φ(x) z) + z)`` with ``z = BN2d(Q x)``.

    ``rank`` is L, the width of the dynamic subspace. The squeeze width ``max(C_in, L²) // 16``
    is the official formula (it is 16 for the released 56-channel, L = 16 model). When both
    ``C_in`` and ``L²`` are below 16 it is 0, and the branch is no longer dynamic (Λ = 1, Φ = 0),
    as with the official code; PyTorch warns about the empty Linears then.
    """

    pools_globally = True  # its GAP sees the whole map: tiled inference supplies whole-image means

    def __init__(self, in_channels: int, out_channels: int, rank: int) -> None:
        super().__init__()
        self.rank = rank
        squeeze = max(in_channels, rank * rank) // 16
        self.q = nn.Conv2d(in_channels, rank, 1, bias=False)
        self.p = nn.Conv2d(rank, out_channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(rank)
        self.bn2 = nn.BatchNorm1d(rank)
        self.fc = nn.Sequential(nn.Linear(in_channels, squeeze, bias=False), SqueezeGate(squeeze))
        self.fc_phi = nn.Linear(squeeze, rank * rank, bias=False)
        self.fc_scale = nn.Linear(squeeze, out_channels, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(scale [N, C_out, 1, 1], residual [N, C_out, H, W])``."""
        n = x.shape[0]
        y = self.fc(spatial_moments(self, x)[0].flatten(1))
        phi = self.fc_phi(y).reshape(n, self.rank, self.rank)
        scale = hard_sigmoid(self.fc_scale(y)).reshape(n, -1, 1, 1)
        z = self.bn1(self.q(x))
        h, w = z.shape[-2:]
        z = z.flatten(2)
        z = self.bn2(torch.matmul(phi, z)) + z
        return scale, self.p(z.reshape(n, self.rank, h, w))


def _modulate(static: torch.Tensor, scale: torch.Tensor, residual: torch.Tensor, activation: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    return activation(scale * static + residual), residual


class DynamicDBB(DiverseBranches):
    """Train-time RDU unit: ``act(Λ(x) · DBB(x) + res(x))``, returning ``(out, res)``.

    ``dy_branch`` is registered before the DBB branches, matching the official key order.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int = 3, *, rank: int = 16, activation: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.dy_branch = DynamicBranch(in_channels, out_channels, rank)
        self._add_branches(in_channels, out_channels, kernel_size, None)
        self.activation = activation if activation is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scale, residual = self.dy_branch(x)
        return _modulate(self.static(x), scale, residual, self.activation)

    def fold(self) -> DynamicConv:
        """The deploy unit: the DBB as one ``dbb_reparam`` conv, the dynamic branch copied."""
        return DynamicConv.from_parts(copy.deepcopy(self.dy_branch), self.folded_conv(), copy.deepcopy(self.activation))

    @classmethod
    def fold_example(cls) -> tuple[DynamicDBB, torch.Tensor]:
        """Rank 4 on 8 -> 12 channels: a non-empty squeeze (16 // 16 = 1), so the branch is dynamic."""
        return cls.random_example(cls(8, 12, 3, rank=4, activation=nn.LeakyReLU(0.05)), (2, 8, 9, 7))


class DynamicConv(nn.Module):
    """Deploy-time RDU unit: ``act(Λ(x) · dbb_reparam(x) + res(x))``, returning ``(out, res)``."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int = 3, *, rank: int = 16, activation: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.dy_branch = DynamicBranch(in_channels, out_channels, rank)
        self.dbb_reparam = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=True)
        self.activation = activation if activation is not None else nn.Identity()

    @classmethod
    def from_parts(cls, dy_branch: DynamicBranch, conv: nn.Conv2d, activation: nn.Module) -> DynamicConv:
        """Assemble from existing modules (what a fold produces), keeping their dtype and device."""
        unit = cls.__new__(cls)
        nn.Module.__init__(unit)
        unit.dy_branch, unit.dbb_reparam, unit.activation = dy_branch, conv, activation
        return unit

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scale, residual = self.dy_branch(x)
        return _modulate(self.dbb_reparam(x), scale, residual, self.activation)


class RDU(nn.Module):
    """Reparameterized dynamic unit: ``unit`` is a :class:`DynamicDBB` (train) or :class:`DynamicConv`.

    Returns ``(out, res)`` in both forms; callers that do not fuse the residual (DDistill-SR's
    ``LR_conv``) drop it. The wrapper exists because the official key layout nests the unit as
    ``<name>.unit.*``. ``activation`` (e.g. LeakyReLU(0.05) inside DFDB) is applied to ``out``
    only, never to ``res``.

    The foldable part is the train-time unit, not this wrapper: :func:`~distillsr.nn.reparam.deploy`
    reaches it through the wrapper and swaps it for a :class:`DynamicConv`, so a deployed model
    holds no :class:`~distillsr.nn.reparam.Foldable` and ``is_deployed`` is true for it.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        *,
        rank: int = 16,
        activation: nn.Module | None = None,
        deploy: bool = False,
    ) -> None:
        super().__init__()
        unit_class = DynamicConv if deploy else DynamicDBB
        self.unit = unit_class(in_channels, out_channels, kernel_size, rank=rank, activation=activation)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.unit(x)

    @property
    def deployed(self) -> bool:
        return isinstance(self.unit, DynamicConv)
