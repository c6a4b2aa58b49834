"""Learned 1x1 adapters from a student anchor's channels to its teacher anchor's (DIPNet's "channel expansion").

A student is narrower than its teacher, so its features cannot be compared with the teacher's
directly; a 1x1 convolution per pair maps them, trained with the student and thrown away after
the stage. Where the widths already agree the adapter is the identity (nothing to learn).

The adapters are one :class:`Adapters` module (an ``nn.ModuleDict`` keyed by
:func:`~.anchors.pair_key`), so a stage adds ``adapters.parameters()`` to its optimizer and
``adapters.state_dict()`` to its resumable state; the keys depend only on the anchor names, and
the initial weights only on the seed, so a resumed run rebuilds the same module before loading.
Initialisation draws from its own generator: building the adapters never moves the global RNG
that the loop's bit-identical resume depends on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from distillsr.compression.distill.anchors import AnchorPairLike, pair_key
from distillsr.errors import DistillsrError


class Adapters(nn.ModuleDict):
    """Pair key -> 1x1 conv (or identity); called on ``{key: student feature}``, returns adapted ones.

    Being a module with a ``forward``, it can be wrapped in its own DistributedDataParallel so its
    gradients are averaged across processes like the student's.
    """

    def forward(self, features: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        adapted = {}
        for key, feature in features.items():
            if key not in self:
                known = ", ".join(self.keys()) or "none"
                raise DistillsrError(f"no adapter for the anchor pair {key!r}; adapters exist for: {known}")
            adapted[key] = self[key](feature)
        return adapted


def _seeded_conv(in_channels: int, out_channels: int, generator: torch.Generator) -> nn.Conv2d:
    """A 1x1 conv with PyTorch's default fan-in scaled weights drawn from ``generator``, zero bias."""
    conv = torch.nn.utils.skip_init(nn.Conv2d, in_channels, out_channels, 1, bias=True)  # no global-RNG draw
    bound = 1.0 / math.sqrt(in_channels)  # what kaiming_uniform_(a=sqrt(5)) gives for a 1x1 kernel
    with torch.no_grad():
        conv.weight.uniform_(-bound, bound, generator=generator)
        conv.bias.zero_()
    return conv


def build_adapters(
    pairs: Sequence[AnchorPairLike],
    student_channels: Mapping[str, int],
    teacher_channels: Mapping[str, int],
    *,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> Adapters:
    """One adapter per pair, in pair order: a 1x1 conv where the widths differ, else the identity.

    ``student_channels``/``teacher_channels`` map anchor names to channel counts (the first entry
    of :func:`~.anchors.feature_shapes`); the same ``seed`` always gives the same weights.
    """
    generator = torch.Generator().manual_seed(seed)
    adapters = Adapters()
    for pair in pairs:
        key = pair_key(pair)
        if key in adapters:
            raise DistillsrError(f"anchor pair {pair.student} -> {pair.teacher} is listed twice")
        source, target = student_channels[pair.student], teacher_channels[pair.teacher]
        adapters[key] = nn.Identity() if source == target else _seeded_conv(source, target, generator)
    if device is not None:
        adapters.to(device)
    return adapters
