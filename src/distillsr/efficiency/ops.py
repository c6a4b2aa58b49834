"""Arithmetic cost (MACs and FLOPs) of one forward pass.

Counting happens at the aten level with :class:`torch.utils.flop_counter.FlopCounterMode`, so a
convolution or matmul written functionally inside ``forward`` costs the same as one done by an
``nn.Conv2d``/``nn.Linear`` module, which module-hook counters miss.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from distillsr.efficiency._setup import (
    DEFAULT_INPUT_SHAPE,
    DeviceLike,
    forward,
    make_input,
    prepared,
    resolve_device,
    validate_shape,
)


@dataclass(frozen=True)
class OpCount:
    """Cost of one forward pass at ``input_shape`` (totals over the whole batch).

    ``macs`` are multiply-accumulates. This is the number to compare with the "FLOPs" column of
    the NTIRE efficient-SR challenge reports and with papers' "Multi-Adds": those tables count one
    multiply-accumulate as one operation.

    ``flops`` are floating-point operations as :class:`FlopCounterMode` reports them: one
    multiply-accumulate is two FLOPs, so ``flops == 2 * macs`` (up to rounding). Only ops with a
    registered formula are counted (convolutions, matmuls, attention); element-wise ops such as
    activations, bias adds, residual adds and pixel shuffle count zero, as they do in most SR
    papers, so models built mostly from element-wise ops may read slightly low next to tools that
    count those too.

    ``flops_by_op`` maps aten op name (``"convolution"``, ``"mm"``, ``"addmm"``...) to its FLOPs,
    to show where the cost comes from.
    """

    macs: int
    flops: int
    input_shape: tuple[int, ...]
    flops_by_op: dict[str, int] = field(default_factory=dict)


def count_ops(
    model: nn.Module,
    input_shape: Sequence[int] = DEFAULT_INPUT_SHAPE,
    *,
    dtype: torch.dtype = torch.float32,
    device: DeviceLike = "cpu",
) -> OpCount:
    """Run one eval-mode, no-grad forward at ``input_shape`` and count its MACs and FLOPs.

    The default 1x3x256x256 input is the NTIRE challenge convention; pass the shape your numbers
    should be quoted at, since cost grows with the number of input pixels. ``device="meta"``
    counts from shapes alone (build the model under ``torch.device("meta")``), which is instant
    even for large models whose cost does not depend on the data.
    """
    shape = validate_shape(input_shape)
    dev = resolve_device(device, allow_meta=True)
    with prepared(model, dev, dtype) as target, torch.no_grad():
        x = make_input(shape, dev, dtype)
        counter = FlopCounterMode(display=False)
        with counter:
            forward(target, x)
    flops = int(counter.get_total_flops())
    by_op = {
        getattr(op, "__name__", str(op)): int(n)
        for op, n in counter.get_flop_counts().get("Global", {}).items()
    }
    return OpCount(macs=flops // 2, flops=flops, input_shape=shape, flops_by_op=by_op)
