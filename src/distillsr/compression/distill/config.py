"""The options of ``kind: distill``: a training stage with a frozen teacher, its anchors and the losses that use them.

Each option class checks its own values (``__post_init__``): a named teacher is a zoo model, the
stage's losses and anchors fit together. :meth:`DistillStageConfig.check_in_recipe` (run when the
recipe is built) adds the training stage's patch check and that the teacher's weights file exists
(like ``init:``, relative to the working directory). What needs the teacher *loaded* (its scale,
its smallest input, its anchors and the student's) is checked by the stage's pre-run hook,
:func:`distillsr.compression.distill.checks.check_distill_stage`, before any stage of the run
starts: a recipe loads without torch and without reading weights.

Torch-free at import, like every stage config (the stage table imports it to read recipes).
"""

from __future__ import annotations

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
from distillsr.training.recipe.stages import TrainStageConfig

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


TEACHER_LOSSES = (TeacherLossConfig, FeatureLossConfig)
"""Loss configs that need a teacher: a plain ``train`` stage should refuse them."""


def _default_distill_losses() -> tuple[LossConfig, ...]:
    return (TeacherLossConfig(),)


@dataclass(frozen=True, kw_only=True)
class DistillStageConfig(TrainStageConfig):
    """Training against a frozen teacher: its output as target and/or its features at anchors."""

    kind: ClassVar[str] = "distill"
    runner: ClassVar[str | type] = "distillsr.compression.distill.stage:DistillStage"
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
        """The training stage's checks, then that the teacher's weights file exists (no weights are read here:
        the stage's pre-run hook loads the teacher and checks its scale, patch and anchors)."""
        super().check_in_recipe(recipe, index)
        weights = Path(self.teacher.weights)
        require(weights.is_file(), f"stages.{index}.teacher.weights", f"no such file: {weights}")
