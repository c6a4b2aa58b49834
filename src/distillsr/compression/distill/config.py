"""The ``distill`` stage: a training stage with a frozen teacher, its anchors and the losses that use them.

Each option class checks its own values (``__post_init__``): a named teacher is a zoo model, the
stage's losses and anchors fit together. What needs the whole recipe is
:meth:`DistillStageConfig.check_in_recipe`, run when the recipe is built: the teacher's weights
file exists and loads (official ``.pth`` included), the teacher upscales by the student's factor
and accepts the stage's patch, and every anchor names a module of the student (as built at that
stage: folded if a ``reparameterize`` stage came first) or of the teacher, both found on the meta
device; an unknown anchor is an error listing the valid names, closest first. Like ``init:``, the
weights path is relative to the working directory. The teacher is loaded once per file version
(a recipe is rebuilt by every override and replace).

No torch at import time: the checks import what they need when called.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, ClassVar, Literal

from distillsr.config.errors import ConfigError
from distillsr.config.schema import doc
from distillsr.errors import DistillsrError
from distillsr.training.recipe.checks import require
from distillsr.training.recipe.losses import LossConfig
from distillsr.training.recipe.stages import ReparameterizeStageConfig, TrainStageConfig

if TYPE_CHECKING:
    from distillsr.training.recipe.run import RecipeConfig

Distance = Literal["l1", "l2"]
_DEVICE_PREFIXES = ("cpu", "cuda", "auto")


@dataclass(frozen=True, kw_only=True)
class TeacherConfig:
    """The frozen network a distill stage learns from: a zoo model with weights, or any checkpoint."""

    name: str | None = field(
        default=None,
        metadata=doc("zoo name of the teacher; null: the weights file says (distillsr and official files do)"),
    )
    weights: str = field(
        metadata=doc(
            "the teacher's weights: a distillsr checkpoint or an official .pth", aliases=("path", "checkpoint")
        )
    )
    device: str | None = field(
        default=None, metadata=doc("where the teacher runs (cpu, cuda, cuda:1, auto); null: the student's device")
    )

    def __post_init__(self) -> None:
        require(bool(self.weights), "weights", "must name a weights file")
        if self.name is not None:
            from distillsr.models.zoo import get_entry

            try:
                get_entry(self.name)
            except DistillsrError as error:
                raise ConfigError("name", str(error)) from None
        if self.device is not None:
            base, _, index = self.device.partition(":")
            require(
                base in _DEVICE_PREFIXES and (not index or (base == "cuda" and index.isdigit())),
                "device",
                f"expected cpu, cuda, cuda:N or auto, got {self.device!r}",
            )


@dataclass(frozen=True, kw_only=True)
class AnchorPairConfig:
    """A student anchor matched to a teacher anchor (module paths, e.g. block_1 -> B1)."""

    student: str = field(metadata=doc("module path in the student whose output is compared, e.g. block_1"))
    teacher: str = field(metadata=doc("module path in the teacher it is compared with, e.g. B1"))
    weight: float = field(default=1.0, metadata=doc("factor of this pair in the features loss"))
    loss: Distance = field(default="l1", metadata=doc("distance: l1 or l2 (mean squared error)"))

    def __post_init__(self) -> None:
        require(bool(self.student), "student", "must name a module")
        require(bool(self.teacher), "teacher", "must name a module")
        require(self.weight >= 0, "weight", f"must be zero or more, got {self.weight}")


@dataclass(frozen=True, kw_only=True)
class TeacherLossConfig(LossConfig):
    """Output distillation: the student's SR against the teacher's ("enhanced HR"); add a pixel term to mix in HR."""

    type: ClassVar[str] = "teacher"
    needs_teacher: ClassVar[bool] = True
    tag_aliases: ClassVar[Mapping[str, str]] = MappingProxyType({"output": "teacher", "enhanced_hr": "teacher"})

    loss: Distance = field(default="l1", metadata=doc("distance to the teacher's SR: l1 or l2"))


@dataclass(frozen=True, kw_only=True)
class FeatureLossConfig(LossConfig):
    """Feature distillation over the stage's ``anchors``: per pair weight x distance, summed."""

    type: ClassVar[str] = "features"
    needs_teacher: ClassVar[bool] = True
    tag_aliases: ClassVar[Mapping[str, str]] = MappingProxyType({"feature": "features"})


DISTILL_LOSS_TYPES: Mapping[str, type[LossConfig]] = MappingProxyType(
    {"teacher": TeacherLossConfig, "features": FeatureLossConfig}
)
"""The loss rows :data:`~.unions.LOSS_TYPES` gains; only a distill stage accepts these terms."""

TEACHER_LOSSES = (TeacherLossConfig, FeatureLossConfig)
"""Loss configs that need a teacher: a plain ``train`` stage should refuse them."""


def _default_distill_losses() -> tuple[LossConfig, ...]:
    return (TeacherLossConfig(),)


@dataclass(frozen=True, kw_only=True)
class DistillStageConfig(TrainStageConfig):
    """Training against a frozen teacher: its output as target and/or its features at anchors."""

    kind: ClassVar[str] = "distill"
    has_teacher: ClassVar[bool] = True
    tag_aliases: ClassVar[Mapping[str, str]] = MappingProxyType({"distillation": "distill"})

    losses: tuple[LossConfig, ...] = field(
        default_factory=_default_distill_losses,
        metadata=doc("weighted loss terms summed each step (default: L1 to the teacher's SR); add l1 for ground truth"),
    )
    teacher: TeacherConfig = field(metadata=doc("the frozen teacher network"))
    anchors: tuple[AnchorPairConfig, ...] = field(
        default=(), metadata=doc("student -> teacher feature pairs for the `features` loss (learned 1x1 adapters)")
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        types = [type(term) for term in self.losses]
        require(
            any(t in TEACHER_LOSSES for t in types),
            "losses",
            "a distill stage needs a `teacher` or `features` loss term (without one it is a train stage)",
        )
        require(types.count(FeatureLossConfig) <= 1, "losses", "has more than one `features` term")
        distances = [term.loss for term in self.losses if isinstance(term, TeacherLossConfig)]
        require(len(distances) == len(set(distances)), "losses", "has the same `teacher` term twice")
        has_features = FeatureLossConfig in types
        require(
            has_features or not self.anchors,
            "anchors",
            "are only used by a `features` loss term; add {type: features} to losses",
        )
        require(not has_features or bool(self.anchors), "anchors", "a `features` loss needs at least one anchor pair")
        seen = set()
        for index, pair in enumerate(self.anchors):
            require((pair.student, pair.teacher) not in seen, f"anchors.{index}", "repeats an earlier pair")
            seen.add((pair.student, pair.teacher))

    def check_in_recipe(self, recipe: RecipeConfig, index: int) -> None:
        """The training stage's checks, then the teacher's: its file loads, its scale and patch fit, the
        anchors exist in the student (folded if a ``reparameterize`` stage came first) and the teacher."""
        super().check_in_recipe(recipe, index)
        folded = any(isinstance(stage, ReparameterizeStageConfig) for stage in recipe.stages[:index])
        try:
            _check_stage(recipe, self, folded)
        except ConfigError as error:
            raise error.within(f"stages.{index}") from None


@dataclass(frozen=True)
class _TeacherFacts:
    """What the recipe checks need of a teacher, kept instead of the loaded network."""

    scale: int
    min_size: int
    description: str
    shapes: Mapping[str, tuple[int, int, int]]
    shapes_size: int


@functools.lru_cache(maxsize=8)
def _teacher_facts(name: str | None, weights: str, stamp: tuple[int, int]) -> _TeacherFacts:
    """Load the teacher once per file version (``stamp``: mtime, size): a recipe is rebuilt often."""
    from distillsr.compression.distill.teacher import load_teacher

    teacher = load_teacher(name, weights)
    return _TeacherFacts(teacher.scale, teacher.model.min_size, teacher.description,
                         MappingProxyType(teacher.shapes), teacher.shapes_size)


def _check_stage(recipe: RecipeConfig, stage: DistillStageConfig, folded: bool) -> None:
    """The checks of :meth:`DistillStageConfig.check_in_recipe`, paths relative to the stage."""
    from distillsr.compression.distill.anchors import (
        check_anchor,
        check_pairs,
        feature_shapes,
    )

    weights = Path(stage.teacher.weights)
    require(weights.is_file(), "teacher.weights", f"no such file: {weights}")
    model = recipe.model
    status = weights.stat()
    try:
        teacher = _teacher_facts(stage.teacher.name, str(weights), (status.st_mtime_ns, status.st_size))
    except DistillsrError as error:
        raise ConfigError("teacher", str(error)) from None
    student_name = f"the student ({model.name} x{model.scale})"
    require(
        teacher.scale == model.scale,
        "teacher",
        f"the {teacher.description} upscales x{teacher.scale} but {student_name} upscales x{model.scale}; "
        "distillation needs the same factor",
    )
    patch = stage.lr_patch_size or recipe.data.train.lr_patch_size
    require(
        patch >= teacher.min_size,
        "lr_patch_size",
        f"the {teacher.description} needs inputs of at least {teacher.min_size} px, got a {patch} px patch",
    )
    if not stage.anchors:
        return
    student_name = f"the student {model.name} x{model.scale}" + (" (folded)" if folded else "")
    student_shapes = feature_shapes(_student_on_meta(recipe, folded), size=teacher.shapes_size)
    for index, pair in enumerate(stage.anchors):
        for side, shapes, what in (
            ("student", student_shapes, student_name),
            ("teacher", teacher.shapes, teacher.description),
        ):
            try:
                check_anchor(getattr(pair, side), shapes, role=side, model=what)
            except DistillsrError as error:
                raise ConfigError(f"anchors.{index}.{side}", str(error)) from None
        try:
            check_pairs([pair], student_shapes, teacher.shapes, student=student_name, teacher=teacher.description)
        except DistillsrError as error:
            raise ConfigError(f"anchors.{index}", str(error)) from None


def _student_on_meta(recipe: RecipeConfig, folded: bool):
    """The student network as the stage will see it, built on the meta device (no memory, no init)."""
    import torch

    from distillsr.nn.reparam import deploy

    model = recipe.model
    with torch.device("meta"):
        network = model.zoo_entry().build(model.scale, **model.kwargs)
        return deploy(network) if folded else network
