"""NTIRE-style activation and convolution-layer counts.

The NTIRE efficient-SR challenge reports "activations" (the number of elements output by every
convolution) as a proxy for memory traffic, next to the number of conv layers. Counting happens at
the aten dispatch level rather than with module hooks so that functional convolutions
(``F.conv2d`` with a model-owned weight), transposed convolutions and a conv module called twice
are all counted the way they execute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from distillsr.efficiency._setup import (
    DEFAULT_INPUT_SHAPE,
    DeviceLike,
    forward,
    make_input,
    prepared,
    resolve_device,
    validate_shape,
)


def _conv_packets() -> frozenset[Any]:
    """Every aten convolution entry point that may reach a dispatch mode.

    On CPU, ``nn.Conv2d``, ``F.conv2d``, ``F.conv1d`` and ``nn.ConvTranspose2d`` all arrive as
    ``aten.convolution.default``: the ``conv2d``/``conv_transpose2d`` front ends are composite and
    decompose before dispatch. The others are listed in case a backend or future release lets
    them through. A mode is switched off while its handler runs, so whichever op arrives first is
    the only one seen and nothing is counted twice.
    """
    aten = torch.ops.aten
    names = (
        "convolution",
        "_convolution",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
    )
    return frozenset(getattr(aten, n) for n in names if hasattr(aten, n))


@dataclass(frozen=True)
class ActivationCount:
    """Convolution outputs of one forward pass at ``input_shape``.

    ``activations`` is the total number of elements output by all executed convolutions
    (including the batch dimension: quote it at batch size 1, as NTIRE does); ``conv_layers`` is
    the number of convolutions executed, so a conv module reused N times counts N times.
    """

    activations: int
    conv_layers: int
    input_shape: tuple[int, ...]


class _ConvWatcher(TorchDispatchMode):
    """Tallies the output size of each convolution op as it executes."""

    def __init__(self) -> None:
        super().__init__()
        self.packets = _conv_packets()
        self.activations = 0
        self.conv_layers = 0

    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None
    ) -> Any:
        out = func(*args, **(kwargs or {}))
        if getattr(func, "overloadpacket", None) in self.packets:
            self.conv_layers += 1
            self.activations += sum(
                t.numel() for t in tree_leaves(out) if isinstance(t, torch.Tensor)
            )
        return out


def count_activations(
    model: nn.Module,
    input_shape: Sequence[int] = DEFAULT_INPUT_SHAPE,
    *,
    dtype: torch.dtype = torch.float32,
    device: DeviceLike = "cpu",
) -> ActivationCount:
    """Run one eval-mode, no-grad forward at ``input_shape`` and count conv outputs and convs."""
    shape = validate_shape(input_shape)
    dev = resolve_device(device, allow_meta=True)
    with prepared(model, dev, dtype) as target, torch.no_grad():
        x = make_input(shape, dev, dtype)
        watcher = _ConvWatcher()
        with watcher:
            forward(target, x)
    return ActivationCount(
        activations=watcher.activations, conv_layers=watcher.conv_layers, input_shape=shape
    )
