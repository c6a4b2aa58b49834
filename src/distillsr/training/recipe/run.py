"""The whole run: :class:`RecipeConfig` (model, data, stages) and its run-level settings.

:class:`RecipeConfig` also runs the rules that join parts, each stage's own
(:meth:`~distillsr.training.recipe.stages.StageConfig.check_in_recipe`): a stage's patch must fit
the model, only a model with train-time blocks can be folded, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from distillsr.config.schema import doc
from distillsr.training.recipe.checks import positive, require
from distillsr.training.recipe.data import DataConfig
from distillsr.training.recipe.model import ModelConfig
from distillsr.training.recipe.stages import StageConfig


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
        """Rules that join stages to the model, the data and each other: each stage kind knows its own."""
        for index, stage in enumerate(self.stages):
            stage.check_in_recipe(self, index)

    @property
    def experiment_dir(self) -> Path:
        """The experiment folder as a path."""
        return Path(str(self.output_dir))

    @property
    def total_iterations(self) -> int:
        """Optimizer steps over all stages (for progress bars and time estimates)."""
        return sum(getattr(stage, "iterations", 0) for stage in self.stages)
