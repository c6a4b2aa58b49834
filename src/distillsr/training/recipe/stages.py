"""Stages: what a run does, in order. A tagged union on ``kind``.

Each options class carries its tag (``kind``) and names the class that runs it (``runner``), so the
session needs no table to run a stage and the reader gets the kinds as data
(:class:`~.kinds.RecipeKinds`). The engine's own kinds are here (``train``, ``reparameterize``);
compression stage kinds keep their options beside their runners (:mod:`distillsr.compression`), and
the one table of all kinds is :mod:`distillsr.stages`. A new kind is one :class:`StageConfig`
subclass, one :class:`~distillsr.training.stages.base.StageKind` and one row in that table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, ClassVar, Literal

from distillsr.config.schema import doc
from distillsr.training.recipe.checks import positive, require
from distillsr.training.recipe.losses import LossConfig, PixelLossConfig
from distillsr.training.recipe.optim import OptimizerConfig, SchedulerConfig

if TYPE_CHECKING:
    from distillsr.training.recipe.run import RecipeConfig

Amp = Literal["none", "bf16", "fp16"]


@dataclass(frozen=True, kw_only=True)
class StageConfig:
    """Base of a stage. Its ``kind`` picks the subclass from the recipe's :class:`~.kinds.RecipeKinds`.

    ``runner`` names the :class:`~distillsr.training.stages.base.StageKind` that runs the stage:
    ``"package.module:Class"`` (imported only when a run reaches the stage, so reading a recipe
    never imports torch), or the class itself (a kind defined where importing it is cheap, e.g. in
    a test). A subclass that does not name one runs like its parent.
    """

    kind: ClassVar[str] = ""
    runner: ClassVar[str | type] = ""  # a StageKind subclass (not named here: get_type_hints must not need torch)
    tag_aliases: ClassVar[Mapping[str, str]] = MappingProxyType({})

    name: str | None = field(
        default=None, metadata=doc("label in logs and checkpoint names; null: stage<index>-<kind>")
    )

    def label(self, index: int) -> str:
        """How logs refer to this stage."""
        return self.name or f"stage{index}-{self.kind}"

    def check_in_recipe(self, recipe: RecipeConfig, index: int) -> None:
        """Rules that join this stage to the rest of the recipe (the model, the data, earlier stages).

        Called by :class:`~distillsr.training.recipe.run.RecipeConfig` once every part is built,
        so a stage kind keeps its cross-checks with its options instead of in the run's class.
        Raise :class:`ConfigError` with a path from the recipe's root (``stages.<index>.<key>``).
        """


def _default_losses() -> tuple[LossConfig, ...]:
    return (PixelLossConfig(type="l1"),)


@dataclass(frozen=True, kw_only=True)
class TrainStageConfig(StageConfig):
    """Supervised training on (LR, HR) patches. Compression stages extend it with their own options."""

    kind: ClassVar[str] = "train"
    runner: ClassVar[str | type] = "distillsr.training.stages.train:TrainStage"
    has_teacher: ClassVar[bool] = False  # whether the stage can compute teacher-based loss terms

    iterations: int = field(metadata=doc("optimizer steps in this stage", aliases=("total_iter",)))
    losses: tuple[LossConfig, ...] = field(
        default_factory=_default_losses, metadata=doc("weighted loss terms summed each step (default: L1)")
    )
    optimizer: OptimizerConfig = field(
        default_factory=OptimizerConfig, metadata=doc("optimizer (fresh for this stage)", aliases=("optim_g",))
    )
    scheduler: SchedulerConfig = field(
        default_factory=SchedulerConfig, metadata=doc("learning-rate schedule within this stage")
    )
    grad_clip: float | None = field(
        default=None, metadata=doc("clip the global gradient norm to this; null: no clipping")
    )
    ema_decay: float | None = field(
        default=None, metadata=doc("keep an exponential moving average of the weights (e.g. 0.999); null disables")
    )
    amp: Amp = field(default="none", metadata=doc("mixed precision: none, bf16 or fp16 (fp16 uses loss scaling)"))
    channels_last: bool = field(default=False, metadata=doc("NHWC memory layout (faster convolutions on recent GPUs)"))
    lr_patch_size: int | None = field(
        default=None, metadata=doc("this stage's LR patch side; null: data.train.lr_patch_size")
    )
    batch_size: int | None = field(default=None, metadata=doc("this stage's total batch; null: data.train.batch_size"))
    init: str | None = field(
        default=None,
        metadata=doc(
            "start this stage from these weights: a distillsr checkpoint or an official .pth (not re-applied when "
            "resuming inside the stage); null: continue from the previous stage (or fresh weights)",
            aliases=("pretrain_network_g",),
        ),
    )
    init_scale: int | None = field(
        default=None,
        metadata=doc(
            "init is a model of this scale (e.g. 4 for a x2 recipe): its pixel-shuffle upsampler is resampled "
            "to the recipe's scale, each new sub-pixel filter the area-weighted mean of the old ones it "
            "overlaps; null: init has the recipe's scale"
        ),
    )
    strict: bool = field(
        default=True,
        metadata=doc(
            "init: every tensor must fit the model; false loads those that fit and logs what was skipped",
            aliases=("strict_load_g",),
        ),
    )

    def __post_init__(self) -> None:
        positive(self.iterations, "iterations")
        require(len(self.losses) > 0, "losses", "needs at least one loss term")
        needing = [str(getattr(term, "type", type(term).__name__)) for term in self.losses if term.needs_teacher]
        require(
            self.has_teacher or not needing,
            "losses",
            f"a {self.kind!r} stage has no teacher for the {', '.join(needing)} term(s); use kind: distill with a teacher",
        )
        schedule = self.scheduler
        require(
            all(m < self.iterations for m in schedule.milestones),
            "scheduler.milestones",
            f"must lie inside the stage's {self.iterations} iterations, got {list(schedule.milestones)}",
        )
        require(
            schedule.warmup_iterations < self.iterations,
            "scheduler.warmup_iterations",
            f"must be shorter than the stage's {self.iterations} iterations",
        )
        positive(self.grad_clip, "grad_clip")
        require(
            self.ema_decay is None or 0 < self.ema_decay < 1, "ema_decay", f"must lie in (0, 1), got {self.ema_decay}"
        )
        positive(self.lr_patch_size, "lr_patch_size")
        positive(self.batch_size, "batch_size")
        if self.init is not None:  # relative paths are from the working directory, like the data folders
            require(Path(self.init).is_file(), "init", f"no weights file at {self.init}")
        require(self.strict or self.init is not None, "strict", "applies only with init")
        require(self.init_scale is None or self.init is not None, "init_scale", "applies only with init")
        positive(self.init_scale, "init_scale")

    def check_in_recipe(self, recipe: RecipeConfig, index: int) -> None:
        """The stage's patches must be large enough for the model."""
        entry = recipe.model.zoo_entry()
        patch = self.lr_patch_size or recipe.data.train.lr_patch_size
        where = f"stages.{index}.lr_patch_size" if self.lr_patch_size else "data.train.lr_patch_size"
        require(
            patch >= entry.min_size,
            where,
            f"model {entry.name} needs inputs of at least {entry.min_size} px, got a {patch} px patch",
        )


@dataclass(frozen=True, kw_only=True)
class ReparameterizeStageConfig(StageConfig):
    """Fold every train-time block (DBB, RRRB, ...) into its deploy form; later stages train the folded net."""

    kind: ClassVar[str] = "reparameterize"
    runner: ClassVar[str | type] = "distillsr.training.stages.reparameterize:ReparameterizeStage"
    tag_aliases: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"reparameterise": "reparameterize", "fold": "reparameterize"}
    )

    def check_in_recipe(self, recipe: RecipeConfig, index: int) -> None:
        """Only a model with train-time blocks can be folded, and only once."""
        entry = recipe.model.zoo_entry()
        require(
            entry.form == "train",
            f"stages.{index}",
            f"model {entry.name} has no train-time blocks to fold (its zoo form is {entry.form!r})",
        )
        earlier = [i for i, stage in enumerate(recipe.stages[:index]) if isinstance(stage, ReparameterizeStageConfig)]
        require(not earlier, f"stages.{index}", f"the model was already folded by stage {earlier[0] if earlier else 0}")
