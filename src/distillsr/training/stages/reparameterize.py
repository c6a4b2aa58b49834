"""``kind: reparameterize``: fold every train-time block (DBB, RRRB, ...) into its deploy form, checked.

The fold is a change of architecture, not training: it takes no steps and saves no training
state, and a resumed run that had passed it re-applies it (:meth:`ReparameterizeStage.replay`) so
the saved deploy-form weights fit. Before handing the folded network on, the stage compares its
outputs with the train-time network's on a fixed batch of training patches
(:mod:`~distillsr.training.stages.fold_check`) and fails above 1e-4.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from distillsr.errors import DistillsrError
from distillsr.training.recipe.stages import ReparameterizeStageConfig
from distillsr.training.stages.base import StageKind, StageResult
from distillsr.training.stages.context import StageContext
from distillsr.training.stages.fold_check import (
    FOLD_TOLERANCE,
    check_patches,
    fold_and_check,
)


def _fold(network: nn.Module) -> nn.Module:
    from distillsr.nn.reparam import deploy

    return deploy(network).train()


def _check_patch_size(context: StageContext, index: int) -> int:
    """The patch side the network last trained on (it fits the model), at least the model's minimum."""
    from distillsr.training.recipe.stages import TrainStageConfig

    default = size = context.recipe.data.train.lr_patch_size
    for stage in context.recipe.stages[:index]:
        if isinstance(stage, TrainStageConfig):
            size = stage.lr_patch_size or default
    return max(size, context.entry.min_size)


class ReparameterizeStage(StageKind):
    """Fold the network; stop the run if the folded one computes something else."""

    def run(
        self,
        context: StageContext,
        index: int,
        config: ReparameterizeStageConfig,
        network: nn.Module,
        resume: dict | None,
    ) -> StageResult:
        patches = check_patches(context.training_set(lr_patch_size=_check_patch_size(context, index), in_memory=False))
        folded, check = fold_and_check(network, patches, context.input_range, _fold)
        if not check.passed:
            suspect = ""
            if check.culprit is not None:
                name, cls, difference = check.culprit
                suspect = f"; the block whose fold differs most is {name} ({cls}, {difference:.3g})"
            raise DistillsrError(
                f"stage {index} ({config.label(index)}): the folded network differs from the trained one by up to "
                f"{check.difference:.3g} on {len(patches)} training patches (limit {FOLD_TOLERANCE:g}){suspect}"
            )
        if context.process.is_main:
            context.logger.info(
                f"[{config.label(index)}] folded: outputs agree to {check.difference:.1e} on {len(patches)} training patches"
            )
        return StageResult(folded, {"fold_max_difference": check.difference}, 0)

    def replay(
        self, network: nn.Module, config: ReparameterizeStageConfig, record: Mapping[str, Any] | None = None
    ) -> nn.Module:
        return _fold(network)
