"""Parameter counts, the first column of every efficient-SR comparison table."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn
from torch.nn.parameter import UninitializedParameter

from distillsr.errors import DistillsrError


@dataclass(frozen=True)
class ParamCount:
    """Number of scalar parameters.

    ``total`` is what papers and NTIRE report; ``trainable`` (``requires_grad``) differs from it
    when part of the model is frozen, e.g. a fixed teacher branch during distillation.
    """

    total: int
    trainable: int


def count_parameters(model: nn.Module) -> ParamCount:
    """Count the model's parameters, each distinct tensor once.

    Tied weights (one ``nn.Parameter`` registered under two modules) are stored once and so are
    counted once; buffers such as BatchNorm running statistics are not learned and are excluded.
    """
    if not isinstance(model, nn.Module):
        raise DistillsrError(f"expected a torch.nn.Module, got {type(model).__name__}")
    seen: set[int] = set()
    total = trainable = 0
    for param in model.parameters():  # already de-duplicated; the id check makes that explicit
        if id(param) in seen:
            continue
        seen.add(id(param))
        if isinstance(param, UninitializedParameter):
            raise DistillsrError("model has uninitialized lazy parameters: run a forward first")
        total += param.numel()
        if param.requires_grad:
            trainable += param.numel()
    return ParamCount(total=total, trainable=trainable)
