"""Loss terms: each a named, weighted callable on a :class:`StepOutputs`, summed by the loop.

Compression techniques (teacher outputs as enhanced HR, feature distillation, contrastive terms)
add new term classes that read more fields of :class:`StepOutputs`; the training loop itself
never changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from distillsr.errors import DistillsrError


@dataclass
class StepOutputs:
    """What one training step produced: the loss terms pick what they need."""

    lr: torch.Tensor
    hr: torch.Tensor
    sr: torch.Tensor
    extras: dict = field(default_factory=dict)  # e.g. features, teacher outputs (later stages)


@dataclass
class PixelLoss:
    """A pixel loss between SR and HR: ``l1``, ``l2`` (MSE) or ``charbonnier``."""

    kind: str
    weight: float = 1.0
    eps: float = 1e-3  # Charbonnier's epsilon (on the [0, 1] scale)

    @property
    def name(self) -> str:
        return self.kind

    def __call__(self, outputs: StepOutputs) -> torch.Tensor:
        diff = outputs.sr.float() - outputs.hr.float()
        if self.kind == "l1":
            return diff.abs().mean()
        if self.kind == "l2":
            return (diff * diff).mean()
        if self.kind == "charbonnier":
            return torch.sqrt(diff * diff + self.eps * self.eps).mean()
        raise DistillsrError(f"unknown pixel loss {self.kind!r}")


PIXEL_LOSSES = ("l1", "l2", "charbonnier")


def total_loss(terms, outputs: StepOutputs) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted sum of the terms and each term's (unweighted) value for the logs."""
    values = {}
    total = None
    for term in terms:
        value = term(outputs)
        values[term.name] = float(value.detach())
        weighted = value * term.weight
        total = weighted if total is None else total + weighted
    if total is None:
        raise DistillsrError("a training stage needs at least one loss term")
    return total, values
