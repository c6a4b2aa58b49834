"""The teacher of a distillation stage: any zoo model with weights, frozen, answering on [0, 1] images.

The teacher is an :class:`~distillsr.models.sr_model.SRModel`, so a 0-255 network (E-RFDN) and a
[0, 1] one (DIPNet) are called alike and return [0, 1] SR. Its features are divided by its input
range for the same reason: a 0-255 network's feature maps are ~255 times larger, and a feature
loss against them would be dominated by that factor rather than by what the student gets wrong.

Frozen means three things, each needed: no parameter requires grad (no gradient is ever
computed or accumulated for it), eval mode (BatchNorm and dropout behave as at inference, and
nothing updates running statistics), and every call runs under ``torch.no_grad`` (no graph is
kept). The teacher may live on another device than the student (a second GPU, or the CPU while
the student trains on a GPU); inputs go to it and results come back to the caller's device.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import torch

from distillsr.compression.distill.anchors import (
    SHAPES_INPUT_SIZE,
    FeatureCapture,
    check_anchor,
    feature_shapes,
)
from distillsr.errors import DistillsrError
from distillsr.models.sr_model import SRModel


@dataclass
class TeacherOutput:
    """The teacher's SR (clamped to [0, 1], like any HR image it stands in for) and its features at the
    requested anchors (divided by its input range)."""

    sr: torch.Tensor
    features: dict[str, torch.Tensor] = field(default_factory=dict)


class Teacher:
    """A frozen SR model that answers ``teacher(lr, anchors)`` with its SR and features."""

    def __init__(self, model: SRModel, *, device: torch.device | str | None = None, source: str | None = None) -> None:
        self.model = model
        self.source = source or model.metadata.get("weights") or model.name
        model.network.requires_grad_(False)
        model.eval()
        if device is not None:
            model.to(torch.device(device))

    @property
    def scale(self) -> int:
        return self.model.scale

    @property
    def device(self) -> torch.device:
        return self.model.device

    @property
    def description(self) -> str:
        """How errors name the teacher: model, scale and where its weights came from."""
        return f"teacher {self.model.name} x{self.scale} ({self.source})"

    @cached_property
    def shapes(self) -> dict[str, tuple[int, int, int]]:
        """Anchor -> (channels, height, width) for a :data:`SHAPES_INPUT_SIZE` input (meta-device pass)."""
        return feature_shapes(self.model.network, in_channels=self.model.in_channels or 3, size=self.shapes_size)

    @property
    def shapes_size(self) -> int:
        return max(SHAPES_INPUT_SIZE, self.model.min_size)

    def anchor_names(self) -> list[str]:
        return list(self.shapes)

    def check_anchors(self, anchors: Sequence[str]) -> None:
        """Unknown anchors are errors listing the valid ones, closest first."""
        for name in anchors:
            check_anchor(name, self.shapes, role="teacher", model=self.description)

    def check_scale(self, scale: int, student: str = "the student") -> None:
        """Teacher and student must upscale by the same factor: the teacher's SR is the student's target."""
        if scale != self.scale:
            raise DistillsrError(
                f"the {self.description} upscales x{self.scale} but {student} upscales x{scale}; "
                "distillation needs the same factor"
            )

    def __call__(self, lr: torch.Tensor, anchors: Sequence[str] = ()) -> TeacherOutput:
        """SR of ``lr`` ([0, 1]) and the features at ``anchors``, on ``lr``'s device, without a graph."""
        network = self.model.network
        if network.training:  # nothing in the teacher may ever run in training mode
            network.eval()
        self.check_anchors(anchors)
        back = lr.device
        with torch.no_grad(), FeatureCapture(network, anchors) as captured:
            sr = self.model(lr.to(self.device, non_blocking=True))
        scale = 1.0 / self.model.input_range
        features = {name: (captured[name] * scale if scale != 1.0 else captured[name]).to(back) for name in anchors}
        return TeacherOutput(sr=sr.clamp(0, 1).to(back), features=features)


def load_teacher(
    name: str | None,
    weights: str | Path,
    *,
    scale: int | None = None,
    device: torch.device | str | None = None,
) -> Teacher:
    """A frozen teacher from a zoo name and weights, or any checkpoint (official ``.pth`` included).

    ``name`` may be None when the file says what it is; when given it must agree with the file.
    ``scale`` is the student's: a teacher of another factor is refused with both named.
    """
    if weights is None:
        raise DistillsrError(
            "a teacher needs weights (a distillsr checkpoint or an official .pth); fresh weights teach nothing"
        )
    from distillsr.checkpoints.model_loading import load_or_build

    teacher = Teacher(load_or_build(name, None, str(weights)), device=device, source=str(weights))
    if scale is not None:
        teacher.check_scale(scale)
    return teacher
