"""Exponential moving average of model weights (BasicSR's ``ema_decay``)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    """A shadow copy of the model whose weights track ``decay * shadow + (1 - decay) * weights``.

    Buffers (BatchNorm statistics) are copied, not averaged, as BasicSR does. The shadow lives on
    the model's device and is what validation and the ``*_ema`` checkpoints use.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.shadow = copy.deepcopy(model).eval()
        for parameter in self.shadow.parameters():
            parameter.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        current = dict(model.named_parameters())
        for name, shadow in self.shadow.named_parameters():
            shadow.mul_(self.decay).add_(current[name].detach(), alpha=1 - self.decay)
        current_buffers = dict(model.named_buffers())
        for name, buffer in self.shadow.named_buffers():
            buffer.copy_(current_buffers[name])

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.shadow.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.shadow.load_state_dict(state, strict=True)
