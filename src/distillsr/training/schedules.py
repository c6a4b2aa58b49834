"""Learning-rate schedules as pure functions of the iteration.

A schedule that is a function of the iteration alone needs no state to resume: after loading a
checkpoint at iteration ``k`` the learning rate is exactly what an uninterrupted run had, which is
one of the things the bit-identical resume guarantee rests on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from distillsr.errors import DistillsrError


@dataclass(frozen=True)
class Schedule:
    """``lr(iteration)`` for ``multistep``, ``step``, ``cosine`` or ``constant``, with linear warm-up."""

    kind: str
    base_lr: float
    total_iterations: int
    milestones: tuple[int, ...] = ()
    gamma: float = 0.5
    step_size: int = 0
    warmup_iterations: int = 0
    min_lr: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("multistep", "step", "cosine", "constant"):
            raise DistillsrError(f"unknown schedule {self.kind!r}; choose multistep, step, cosine or constant")
        if self.kind == "step" and self.step_size < 1:
            raise DistillsrError("a step schedule needs step_size >= 1")

    def lr(self, iteration: int) -> float:
        """The learning rate used for the update at ``iteration`` (0-based)."""
        if self.warmup_iterations and iteration < self.warmup_iterations:
            return self.base_lr * (iteration + 1) / self.warmup_iterations
        if self.kind == "multistep":
            return self.base_lr * self.gamma ** sum(iteration >= m for m in self.milestones)
        if self.kind == "step":
            return self.base_lr * self.gamma ** (iteration // self.step_size)
        if self.kind == "cosine":
            span = max(1, self.total_iterations - self.warmup_iterations)
            progress = min(1.0, (iteration - self.warmup_iterations) / span)
            return self.min_lr + (self.base_lr - self.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))
        return self.base_lr


def apply_lr(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
