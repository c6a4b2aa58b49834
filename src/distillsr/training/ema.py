"""Exponential moving average of model weights (BasicSR's ``ema_decay``)."""

from __future__ import annotations

import copy

import torch
from torch import nn

FULLY_RAMPED = 1 << 30  # an update count past any ramp


class WeightAverage:
    """A shadow copy of the model whose weights track ``decay * shadow + (1 - decay) * weights``.

    Buffers (BatchNorm statistics) are copied, not averaged, as BasicSR does. The shadow lives on
    the model's device and is what validation and the ``*_ema`` checkpoints use.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.shadow = copy.deepcopy(model).eval()
        for parameter in self.shadow.parameters():
            parameter.requires_grad_(False)

    def current_decay(self) -> float:
        """``decay``, ramped up as ``(1 + n) / (10 + n)`` over the first updates.

        Without the ramp the shadow keeps ``decay ** n`` of the starting weights: after 2,500
        updates at 0.999 that is 8 % of them. Harmless after BasicSR's 500k iterations; ruinous
        when a stage starts from partly fresh layers (a new upsampler gives 8 dB instead of 37).
        """
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        decay = self.current_decay()
        self.updates += 1
        current = dict(model.named_parameters())
        for name, shadow in self.shadow.named_parameters():
            shadow.mul_(decay).add_(current[name].detach(), alpha=1 - decay)
        current_buffers = dict(model.named_buffers())
        for name, buffer in self.shadow.named_buffers():
            buffer.copy_(current_buffers[name])

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.shadow.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.shadow.load_state_dict(state, strict=True)

    def resume(self, shadow: dict[str, torch.Tensor], updates: int | None) -> None:
        """Continue from a saved shadow after ``updates`` updates; None (a checkpoint from before the
        ramp existed) continues fully ramped, as that run did."""
        self.load_state_dict(shadow)
        self.updates = FULLY_RAMPED if updates is None else int(updates)
