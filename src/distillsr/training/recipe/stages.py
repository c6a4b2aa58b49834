"""Stages: what a run does, in order. A tagged union on ``kind`` (the table is :data:`~.unions.STAGE_KINDS`).

A compression technique adds a stage kind by writing one :class:`StageConfig` subclass here (or in
its own module) and one row in the table; the reader needs no change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar, Literal

from distillsr.config.schema import doc
from distillsr.training.recipe.checks import positive, require
from distillsr.training.recipe.losses import LossConfig, PixelLossConfig
from distillsr.training.recipe.optim import OptimizerConfig, SchedulerConfig

Amp = Literal["none", "bf16", "fp16"]


@dataclass(frozen=True, kw_only=True)
class StageConfig:
    """Base of a stage. Its ``kind`` picks the subclass from :data:`STAGE_KINDS`."""

    kind: ClassVar[str] = ""
    tag_aliases: ClassVar[Mapping[str, str]] = MappingProxyType({})

    name: str | None = field(
        default=None, metadata=doc("label in logs and checkpoint names; null: stage<index>-<kind>")
    )

    def label(self, index: int) -> str:
        """How logs refer to this stage."""
        return self.name or f"stage{index}-{self.kind}"


def _default_losses() -> tuple[LossConfig, ...]:
    return (PixelLossConfig(type="l1"),)


@dataclass(frozen=True, kw_only=True)
class TrainStageConfig(StageConfig):
    """Supervised training on (LR, HR) patches. Compression stages extend it with their own options."""

    kind: ClassVar[str] = "train"

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

    def __post_init__(self) -> None:
        positive(self.iterations, "iterations")
        require(len(self.losses) > 0, "losses", "needs at least one loss term")
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


@dataclass(frozen=True, kw_only=True)
class ReparameterizeStageConfig(StageConfig):
    """Fold every train-time block (DBB, RRRB, ...) into its deploy form; later stages train the folded net."""

    kind: ClassVar[str] = "reparameterize"
    tag_aliases: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"reparameterise": "reparameterize", "fold": "reparameterize"}
    )
