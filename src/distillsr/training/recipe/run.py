"""The whole run: :class:`RecipeConfig` (model, data, stages) and its run-level settings.

:class:`RecipeConfig` also holds the rules that join parts: a stage's patch must fit the model, and
only a model with train-time blocks can be folded, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from distillsr.config.schema import doc
from distillsr.training.recipe.checks import positive, require
from distillsr.training.recipe.data import DataConfig
from distillsr.training.recipe.model import ModelConfig
from distillsr.training.recipe.stages import ReparameterizeStageConfig, StageConfig, TrainStageConfig


@dataclass(frozen=True, kw_only=True)
class LoggingConfig:
    """What a run writes as it goes."""

    print_every: int = field(
        default=100, metadata=doc("log losses and learning rate every this many iterations", aliases=("print_freq",))
    )
    csv: bool = field(default=True, metadata=doc("append metrics to log.csv in the experiment folder"))
    tensorboard: bool = field(
        default=False,
        metadata=doc("also write TensorBoard events (needs the tensorboard package)", aliases=("use_tb_logger",)),
    )

    def __post_init__(self) -> None:
        positive(self.print_every, "print_every")


@dataclass(frozen=True, kw_only=True)
class CheckpointConfig:
    """Resumable training states saved during a stage."""

    every: int = field(
        default=5000,
        metadata=doc(
            "save a training state every this many iterations; 0: only at the end of a stage",
            aliases=("save_checkpoint_freq",),
        ),
    )
    keep: int = field(
        default=3, metadata=doc("keep the last this many training states; 0 keeps all", aliases=("keep_last",))
    )

    def __post_init__(self) -> None:
        require(self.every >= 0, "every", f"must be zero or more, got {self.every}")
        require(self.keep >= 0, "keep", f"must be zero or more, got {self.keep}")


@dataclass(frozen=True, kw_only=True)
class DistributedConfig:
    """Multi-process training (started with torchrun)."""

    backend: Literal["auto", "nccl", "gloo"] = field(
        default="auto", metadata=doc("process-group backend; auto: nccl on CUDA, gloo otherwise")
    )


@dataclass(frozen=True, kw_only=True)
class RecipeConfig:
    """A whole training run: one model trained through a list of stages."""

    name: str | None = field(default=None, metadata=doc("run name; null: <model>_x<scale>"))
    seed: int = field(
        default=0, metadata=doc("seed of weights, patch sampling and augmentation", aliases=("manual_seed",))
    )
    output_dir: str | None = field(
        default=None, metadata=doc("experiment folder (checkpoints, logs, resolved recipe); null: experiments/<name>")
    )
    model: ModelConfig = field(metadata=doc("the network to train"))
    data: DataConfig = field(metadata=doc("training data and validation sets"))
    stages: tuple[StageConfig, ...] = field(metadata=doc("what the run does, in order: train, reparameterize, ..."))
    logging: LoggingConfig = field(
        default_factory=LoggingConfig, metadata=doc("console, CSV and TensorBoard logs", aliases=("logger",))
    )
    checkpoint: CheckpointConfig = field(
        default_factory=CheckpointConfig, metadata=doc("training states for resuming")
    )
    distributed: DistributedConfig = field(
        default_factory=DistributedConfig, metadata=doc("multi-process settings", aliases=("dist_params",))
    )

    def __post_init__(self) -> None:
        # The run name and folder are resolved once, so the printed recipe says where outputs go.
        if self.name is None:
            object.__setattr__(self, "name", f"{self.model.name}_x{self.model.scale}")
        require(bool(self.name), "name", "must not be empty")
        if self.output_dir is None:
            object.__setattr__(self, "output_dir", str(Path("experiments") / str(self.name)))
        require(len(self.stages) > 0, "stages", "needs at least one stage")
        self._check_stages()

    def _check_stages(self) -> None:
        """Rules that join stages to the model and data: patch sizes, what can be folded."""
        entry = self.model.zoo_entry()
        folded_at: int | None = None
        for index, stage in enumerate(self.stages):
            if isinstance(stage, TrainStageConfig):
                patch = stage.lr_patch_size or self.data.train.lr_patch_size
                where = f"stages.{index}.lr_patch_size" if stage.lr_patch_size else "data.train.lr_patch_size"
                require(
                    patch >= entry.min_size,
                    where,
                    f"model {entry.name} needs inputs of at least {entry.min_size} px, got a {patch} px patch",
                )
            if isinstance(stage, ReparameterizeStageConfig):
                require(
                    entry.form == "train",
                    f"stages.{index}",
                    f"model {entry.name} has no train-time blocks to fold (its zoo form is {entry.form!r})",
                )
                require(folded_at is None, f"stages.{index}", f"the model was already folded by stage {folded_at}")
                folded_at = index

    @property
    def experiment_dir(self) -> Path:
        """The experiment folder as a path."""
        return Path(str(self.output_dir))

    @property
    def total_iterations(self) -> int:
        """Optimizer steps over all stages (for progress bars and time estimates)."""
        return sum(getattr(stage, "iterations", 0) for stage in self.stages)
