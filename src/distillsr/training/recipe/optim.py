"""The optimizer and learning-rate schedule of a training stage (fresh per stage, counted within it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from distillsr.config.schema import doc
from distillsr.training.recipe.checks import positive, require


@dataclass(frozen=True, kw_only=True)
class OptimizerConfig:
    """The optimizer of a training stage (a fresh one per stage)."""

    type: Literal["adam", "adamw"] = field(default="adam", metadata=doc("adam or adamw (decoupled weight decay)"))
    lr: float = field(default=2e-4, metadata=doc("initial learning rate (after warm-up)"))
    betas: tuple[float, float] = field(default=(0.9, 0.999), metadata=doc("Adam's moment decay rates"))
    weight_decay: float = field(default=0.0, metadata=doc("L2 penalty (adam) or decoupled decay (adamw)"))
    eps: float = field(default=1e-8, metadata=doc("Adam's denominator epsilon"))

    def __post_init__(self) -> None:
        positive(self.lr, "lr")
        require(all(0 <= b < 1 for b in self.betas), "betas", f"must lie in [0, 1), got {list(self.betas)}")
        require(self.weight_decay >= 0, "weight_decay", f"must be zero or more, got {self.weight_decay}")
        positive(self.eps, "eps")


@dataclass(frozen=True, kw_only=True)
class SchedulerConfig:
    """The learning rate over a stage's iterations, counted from the start of that stage."""

    type: Literal["constant", "multistep", "step", "cosine"] = field(
        default="constant",
        metadata=doc(
            "constant; multistep (x gamma at each milestone); step (x gamma every step_size); cosine (to min_lr)",
            value_aliases={
                "MultiStepLR": "multistep",
                "StepLR": "step",
                "CosineAnnealingLR": "cosine",
                "CosineAnnealingRestartLR": "cosine",
                "ConstantLR": "constant",
            },
        ),
    )
    milestones: tuple[int, ...] = field(
        default=(), metadata=doc("multistep: iterations (within the stage) where the rate is multiplied by gamma")
    )
    gamma: float = field(default=0.5, metadata=doc("multistep/step: the factor applied at each decay"))
    step_size: int | None = field(default=None, metadata=doc("step: iterations between decays"))
    warmup_iterations: int = field(
        default=0,
        metadata=doc("linear warm-up from lr/warmup to lr over this many iterations", aliases=("warmup_iter",)),
    )
    min_lr: float = field(
        default=0.0, metadata=doc("cosine: the rate reached at the end of the stage", aliases=("eta_min",))
    )

    def __post_init__(self) -> None:
        if self.type == "multistep":
            require(len(self.milestones) > 0, "milestones", "multistep needs at least one milestone")
        else:
            require(not self.milestones, "milestones", f"apply only to multistep, not {self.type}")
        require(all(m > 0 for m in self.milestones), "milestones", f"must be positive, got {list(self.milestones)}")
        require(
            list(self.milestones) == sorted(set(self.milestones)),
            "milestones",
            f"must be strictly increasing, got {list(self.milestones)}",
        )
        if self.type == "step":
            require(self.step_size is not None, "step_size", "a step schedule needs step_size")
        else:
            require(self.step_size is None, "step_size", f"applies only to step, not {self.type}")
        positive(self.step_size, "step_size")
        positive(self.gamma, "gamma")
        require(
            self.warmup_iterations >= 0, "warmup_iterations", f"must be zero or more, got {self.warmup_iterations}"
        )
        require(self.min_lr >= 0, "min_lr", f"must be zero or more, got {self.min_lr}")
        require(self.type == "cosine" or self.min_lr == 0, "min_lr", f"applies only to cosine, not {self.type}")
