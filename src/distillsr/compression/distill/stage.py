"""``kind: distill``: a train stage whose targets come from a frozen teacher.

The student trains exactly like a ``train`` stage (same loop, schedule, EMA, resume); what changes
is the step: the teacher's SR of each batch becomes the target of the ``teacher`` loss term
("enhanced HR", DIPNet), and student features at named anchors are matched to the teacher's
through learned 1x1 adapters (``features`` term). The adapters are the stage's own modules: they
are optimised with the student and saved in every resumable state, but never in a model file.

Before the run's first stage starts, :meth:`DistillStage.check` loads the teacher and checks it and
the anchors against the student (:mod:`.checks`), so a typo in an anchor is refused before any
training. The options are :class:`~.config.DistillStageConfig`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from distillsr.compression.distill.checks import check_distill_stage
from distillsr.compression.distill.config import DistillStageConfig
from distillsr.compression.distill.losses import build_terms
from distillsr.compression.distill.step import DistillStep, build_distill_step
from distillsr.compression.distill.teacher import load_teacher
from distillsr.training.loop import StepRecipe
from distillsr.training.stages.context import StageContext
from distillsr.training.stages.train import TrainStage


class DistillStage(TrainStage):
    """Teacher output and multi-anchor feature distillation on (LR, HR) patches."""

    def __init__(self) -> None:
        self.step: DistillStep | None = None

    def check(self, context: StageContext, index: int, config: DistillStageConfig) -> None:
        """The teacher loads, fits the student's scale and patch, and every anchor exists (:mod:`.checks`)."""
        check_distill_stage(context.recipe, index, config)

    def owned_modules(self, context: StageContext, config: DistillStageConfig, network: nn.Module) -> dict[str, nn.Module]:
        from distillsr.devices import resolve_device

        model = context.recipe.model
        device = resolve_device(config.teacher.device) if config.teacher.device else context.device
        teacher = load_teacher(config.teacher.name, config.teacher.weights, scale=model.scale, device=device)
        context.logger.info(f"teacher: {teacher.description}")
        self.step = build_distill_step(
            network, teacher, config.anchors, scale=model.scale, seed=context.recipe.seed,
            device=context.device, student_name=f"the student {model.name}",
        )
        return self.step.owned

    def forward(self, network: nn.Module, owned: nn.ModuleDict, lr: torch.Tensor) -> Any:
        assert self.step is not None, "owned_modules() builds the step before the first forward"
        return self.step.student_forward(network, owned, lr)

    def step_recipe(
        self, context: StageContext, config: DistillStageConfig, network: nn.Module, owned: dict[str, nn.Module]
    ) -> StepRecipe:
        assert self.step is not None
        return StepRecipe(build_terms(config.losses, config.anchors), forward=self.step)
