"""One distillation step: the ``StepRecipe.forward`` hook that adds a teacher to a training step.

:class:`DistillStep` runs the teacher on the batch's LR (frozen, under ``no_grad``, on its own
device) and the student with hooks at its anchors, maps the student's features through the
adapters, and hands everything to the loss terms in ``StepOutputs.extras``: ``teacher_sr`` (the
teacher's [0, 1] SR on the student's device) and ``features`` (pair key -> (adapted student
feature, teacher feature)). The loop itself does not change.

The student's part (its forward, the captures, the adapters) is :meth:`DistillStep.student_forward`,
shaped like the ``forward`` of :class:`~distillsr.training.loop.WithOwnedModules`: a stage wraps
the network and :attr:`DistillStep.owned` in that module, so the optimizer, gradient clipping and
DistributedDataParallel see the adapters as part of the model (DDP must see every trained
parameter used inside the forward it wraps, or the ranks' adapters drift apart). Called with a
plain network instead, the step runs the same function itself (one process, tests).

The network may arrive inside :class:`~distillsr.training.loop.ScaledInput` (a 0-255 network
trained from [0, 1] batches), ``WithOwnedModules`` and/or DDP: hooks go on the bare network, and
its features are divided by its value range, as the teacher's are, so both sides are on the
[0, 1] scale whatever range each network works in.

Teacher outputs are not cached. The data pipeline is deterministic per (seed, epoch, index), so
the teacher's SR and features of every patch could be computed once and reused; but for the
teachers this project distils from, the teacher's forward pass is a small part of a step (about
7-15 % of a step of the 48-channel DIPNet student on the CPU, measured for the issue 9 notes),
while a cache of SR patches and feature maps would cost far more memory or disk than the compute
it saves. :class:`~.teacher.Teacher` is the one place such a cache would go.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import torch
from torch import nn

from distillsr.compression.distill.adapters import build_adapters
from distillsr.compression.distill.anchors import (
    AnchorPairLike,
    FeatureCapture,
    check_pairs,
    feature_shapes,
    pair_key,
)
from distillsr.compression.distill.teacher import Teacher
from distillsr.errors import DistillsrError
from distillsr.training.loop import bare_network
from distillsr.training.losses import StepOutputs

ADAPTERS = "adapters"  # the adapters' name among a stage's owned modules (``state["owned"]["adapters"]``)


class StudentOutput(NamedTuple):
    """The student's SR and its adapted features by pair key (a tuple, so DDP can walk it)."""

    sr: torch.Tensor
    features: dict[str, torch.Tensor]


def _owns_the_student_pass(model: nn.Module) -> bool:
    """Whether ``model`` (inside DDP) is a wrapper whose forward runs :meth:`DistillStep.student_forward`."""
    core = model.module if isinstance(getattr(model, "module", None), nn.Module) else model
    owned = getattr(core, "owned", None)
    return isinstance(owned, nn.ModuleDict) and ADAPTERS in owned


class DistillStep:
    """``forward(model, batch) -> StepOutputs`` for :class:`~distillsr.training.loop.StepRecipe`."""

    def __init__(self, teacher: Teacher, pairs: Sequence[AnchorPairLike], adapters: nn.Module | None = None) -> None:
        if pairs and adapters is None:
            raise DistillsrError("feature distillation needs adapters (build_adapters) for its anchor pairs")
        self.teacher = teacher
        self.pairs = tuple(pairs)
        self.adapters = adapters if adapters is not None else build_adapters((), {}, {})
        self.student_anchors = tuple(dict.fromkeys(pair.student for pair in self.pairs))
        self.teacher_anchors = tuple(dict.fromkeys(pair.teacher for pair in self.pairs))
        teacher.check_anchors(self.teacher_anchors)

    @property
    def owned(self) -> dict[str, nn.Module]:
        """The modules a stage trains beside the network: ``{"adapters": ...}``."""
        return {ADAPTERS: self.adapters}

    def student_forward(self, network: nn.Module, owned: Mapping[str, nn.Module], lr: torch.Tensor) -> StudentOutput:
        """The student's SR of ``lr`` and its adapted anchor features (``WithOwnedModules``' forward)."""
        bare, value_range = bare_network(network)
        capture = FeatureCapture(bare, self.student_anchors)
        with capture as captured:
            sr = network(lr)
        if capture.missing():
            raise DistillsrError(f"the student's forward pass did not run the anchor(s) {', '.join(capture.missing())}")
        if not self.pairs:
            return StudentOutput(sr, {})
        scale = 1.0 / value_range
        features = {
            pair_key(pair): captured[pair.student] * scale if scale != 1.0 else captured[pair.student]
            for pair in self.pairs
        }
        return StudentOutput(sr, owned[ADAPTERS](features))

    def __call__(self, model: nn.Module, batch: dict) -> StepOutputs:
        lr = batch["lr"]
        taught = self.teacher(lr, self.teacher_anchors)
        student = model(lr) if _owns_the_student_pass(model) else self.student_forward(model, self.owned, lr)
        if not isinstance(student, StudentOutput):
            raise DistillsrError(
                "the model's wrapper must run DistillStep.student_forward as its forward (it returned "
                f"{type(student).__name__})"
            )
        extras: dict = {"teacher_sr": taught.sr}
        if self.pairs:
            extras["features"] = {
                pair_key(pair): (student.features[pair_key(pair)], taught.features[pair.teacher]) for pair in self.pairs
            }
        return StepOutputs(lr=lr, hr=batch["hr"], sr=student.sr, extras=extras)


def build_distill_step(
    student: nn.Module,
    teacher: Teacher,
    pairs: Sequence[AnchorPairLike],
    *,
    scale: int | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    in_channels: int = 3,
    student_name: str = "the student",
) -> DistillStep:
    """Check the pairs against both networks, build their adapters, and return the step.

    ``student`` may be wrapped (ScaledInput, DDP); ``scale`` is the student's factor, checked
    against the teacher's; ``seed`` fixes the adapters' initial weights; ``device`` is where they
    live (the student's). The step's :attr:`~DistillStep.owned` adapters are what a stage
    optimises and saves.
    """
    if scale is not None:
        teacher.check_scale(scale, student_name)
    network, _ = bare_network(student)
    student_shapes = feature_shapes(network, in_channels=in_channels, size=teacher.shapes_size)
    check_pairs(pairs, student_shapes, teacher.shapes, student=student_name, teacher=teacher.description)
    adapters = build_adapters(
        pairs,
        {name: shape[0] for name, shape in student_shapes.items()},
        {name: shape[0] for name, shape in teacher.shapes.items()},
        seed=seed,
        device=device,
    )
    return DistillStep(teacher, pairs, adapters)
