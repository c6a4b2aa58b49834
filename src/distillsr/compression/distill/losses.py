"""Distillation loss terms, shaped like :class:`~distillsr.training.losses.PixelLoss` (``name``, ``weight``, call).

They read what the distill step put in ``StepOutputs.extras``: ``teacher_sr`` (the teacher's SR
of the same LR patch) and ``features`` (pair key -> (adapted student feature, teacher feature)).
Mixing the teacher's output with ground truth needs no special term: a pixel loss on HR and a
:class:`TeacherOutputLoss` side by side, each with its weight, is exactly that mix. Values are
computed in float32 whatever the autocast dtype, like the pixel losses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from distillsr.compression.distill.anchors import AnchorPairLike, pair_key
from distillsr.errors import DistillsrError
from distillsr.training.losses import PixelLoss, StepOutputs

DISTANCES = ("l1", "l2")


def distance(a: torch.Tensor, b: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean absolute (``l1``) or mean squared (``l2``) difference, in float32."""
    if a.shape != b.shape:
        raise DistillsrError(f"cannot compare tensors of shapes {tuple(a.shape)} and {tuple(b.shape)}")
    diff = a.float() - b.float()
    if kind == "l1":
        return diff.abs().mean()
    if kind == "l2":
        return (diff * diff).mean()
    raise DistillsrError(f"unknown distillation distance {kind!r}; choose l1 or l2")


def _extra(outputs: StepOutputs, key: str, term: str):
    try:
        return outputs.extras[key]
    except KeyError:
        raise DistillsrError(
            f"the {term} loss needs the teacher's outputs ({key!r}), which only a distill stage provides"
        ) from None


@dataclass
class TeacherOutputLoss:
    """Output distillation: the student's SR against the teacher's SR ("enhanced HR")."""

    kind: str = "l1"
    weight: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in DISTANCES:
            raise DistillsrError(f"unknown teacher loss {self.kind!r}; choose l1 or l2")

    @property
    def name(self) -> str:
        return f"teacher_{self.kind}"

    def __call__(self, outputs: StepOutputs) -> torch.Tensor:
        return distance(outputs.sr, _extra(outputs, "teacher_sr", "teacher"), self.kind)


@dataclass
class FeatureLoss:
    """Feature distillation: per anchor pair ``weight * distance(adapted student, teacher)``, summed."""

    pairs: Sequence[AnchorPairLike]
    weight: float = 1.0
    name: str = "features"

    def __post_init__(self) -> None:
        if not self.pairs:
            raise DistillsrError("a features loss needs at least one anchor pair")
        for pair in self.pairs:
            if pair.loss not in DISTANCES:
                raise DistillsrError(f"anchor pair {pair.student} -> {pair.teacher}: loss must be l1 or l2")

    def __call__(self, outputs: StepOutputs) -> torch.Tensor:
        features = _extra(outputs, "features", "features")
        total = None
        for pair in self.pairs:
            key = pair_key(pair)
            if key not in features:
                raise DistillsrError(f"no features were captured for the anchor pair {pair.student} -> {pair.teacher}")
            student, teacher = features[key]
            value = distance(student, teacher, pair.loss) * pair.weight
            total = value if total is None else total + value
        return total


def build_terms(losses: Iterable, pairs: Sequence[AnchorPairLike] = ()) -> list:
    """Loss terms from recipe loss configs (read by ``type``): pixel, ``teacher`` and ``features``.

    The stage's anchor pairs go to the ``features`` term; a pixel term is the engine's
    :class:`~distillsr.training.losses.PixelLoss`, so a distill stage mixes ground truth in as usual.
    """
    terms = []
    for config in losses:
        kind = str(config.type)
        if kind == "teacher":
            terms.append(TeacherOutputLoss(config.loss, config.weight))
        elif kind == "features":
            terms.append(FeatureLoss(tuple(pairs), config.weight))
        else:
            terms.append(PixelLoss(kind, config.weight, config.eps))
    return terms
