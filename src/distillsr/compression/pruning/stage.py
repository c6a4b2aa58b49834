"""``kind: prune``: :func:`~.iterative.prune_iteratively` (or exact group widths) inside a recipe.

The stage works on the network the previous stages left (it must be folded: prune after
``reparameterize``), ranks channels on 16 of the recipe's own training patches (its degradation,
so a BD or DN recipe is ranked, fine-tuned and validated on BD or DN), fine-tunes between steps on
those patches (towards the stage's teacher, else the unpruned network's own output, else the
ground truth), stops the run when a step falls below bicubic on the calibration patches, and
hands the smaller network on. The criterion, the floor, ψ and the steps are those of
``distillsr prune`` (:mod:`.pruner`); only the inputs come from the recipe. Its pruned layer widths
become part of every later model file's hyperparameters (``pruned_widths``, returned in the
stage's result), so ``eval``, ``upscale``, ``export`` and ``convert`` load the result like any zoo
model; on resume the widths are re-applied from the stage's record before the saved weights are
loaded. The options are :class:`~.config.PruneStageConfig`.

A prune stage has no resumable state of its own: interrupted, it starts again from the folded
network (its steps are short next to the training stages around it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from torch import nn

from distillsr.compression.pruning.config import PruneStageConfig
from distillsr.compression.pruning.iterative import PruneStep, PruneTarget
from distillsr.errors import DistillsrError
from distillsr.models.pruned_widths import PRUNED_WIDTHS
from distillsr.training.stages.base import StageKind, StageResult
from distillsr.training.stages.context import StageContext

if TYPE_CHECKING:
    from distillsr.compression.pruning.pruner import Finetuning
    from distillsr.models.sr_model import SRModel

class PruneStage(StageKind):
    """Remove filters step by step (fine-tuning between steps) until the stage's target."""

    def run(
        self, context: StageContext, index: int, config: PruneStageConfig, network: nn.Module, resume: dict | None
    ) -> StageResult:
        from distillsr.compression.pruning.calibration import CalibrationSet
        from distillsr.compression.pruning.pruner import prune_model, pruning_tools
        from distillsr.models.pruned_widths import layer_widths
        from distillsr.nn.reparam import is_deployed

        label = config.label(index)
        if not is_deployed(network):
            raise DistillsrError(f"stage {index} ({label}): prune a folded network; add a reparameterize stage before it")
        model = context.sr_model(network.eval())
        say = context.logger.info if context.process.is_main else (lambda message: None)
        calibration = CalibrationSet.from_dataset(context.training_set(in_memory=False), source="the recipe's training patches")
        tools = pruning_tools(model, calibration, criterion=config.criterion, bicubic_floor=config.bicubic_floor,
                              finetuning=self._finetuning(context, config), device=context.device)

        def report(step: PruneStep) -> None:
            psnr = f", PSNR {step.psnr:.3f} dB" if step.psnr is not None else ""
            calibrated = f", {step.calibration_psnr:.2f} dB on the calibration patches" if step.calibration_psnr is not None else ""
            say(f"[{label} step {step.index}] {step.params:,} params, {step.macs / 1e9:.3f} GMACs at 3x256x256{psnr}{calibrated}")

        if config.widths:
            result = prune_model(model, tools, step=config.step, widths=config.widths_for, on_step=report)
        else:
            target = PruneTarget(config.target_params, config.target_macs, config.max_drop)
            result = prune_model(model, tools, step=config.step, target=target, validate=self._validator(context, config),
                                 on_step=report)
            say(f"[{label}] kept step {result.kept}: {result.stopped}")
        pruned, steps = result.model.network, result.steps
        widths = layer_widths(pruned)
        described = {PRUNED_WIDTHS: widths}  # this stage's files (best) and, through the result, every later one
        last = steps[-1]
        metrics = {"params": float(last.params), "macs": float(last.macs)}
        validate = context.validator(label, len(steps) - 1, model_kwargs=described)
        if validate is not None:
            metrics.update(validate(pruned, len(steps) - 1))
        iterations = config.finetune_iterations * (len(steps) - 1)
        return StageResult(pruned.train(), metrics, iterations, record={PRUNED_WIDTHS: widths}, model_kwargs=described)

    def replay(self, network: nn.Module, config: PruneStageConfig, record: Mapping[str, Any] | None = None) -> nn.Module:
        from distillsr.models.pruned_widths import apply_widths

        if not record or PRUNED_WIDTHS not in record:
            raise DistillsrError("the training state does not say how this prune stage narrowed the network")
        apply_widths(network, dict(record[PRUNED_WIDTHS]), "the resumed network")
        return network

    # --- the recipe's inputs to the shared pruning run ------------------------------------------

    @staticmethod
    def _finetuning(context: StageContext, config: PruneStageConfig) -> Finetuning | None:
        """ψ on the recipe's own patches (its degradation), towards the teacher, the unpruned network, or HR."""
        if not config.finetune_iterations:
            return None
        from distillsr.compression.pruning.finetune import FinetuneSettings
        from distillsr.compression.pruning.pruner import SELF_TEACHER, Finetuning

        train = context.recipe.data.train
        teacher = None
        if config.teacher is not None:
            from distillsr.compression.distill.teacher import load_teacher
            from distillsr.devices import resolve_device

            device = resolve_device(config.teacher.device) if config.teacher.device else context.device
            teacher = load_teacher(config.teacher.name, config.teacher.weights,
                                   scale=context.recipe.model.scale, device=device).model
        elif config.self_teacher:
            teacher = SELF_TEACHER
        patch = config.lr_patch_size or train.lr_patch_size
        settings = FinetuneSettings(
            hr_folders=tuple(train.hr_folders), iterations=config.finetune_iterations,
            batch_size=config.batch_size or train.batch_size, lr_patch_size=patch,
            lr=config.lr, loss=config.loss, seed=context.recipe.seed,
            print_every=max(1, config.finetune_iterations // 2),
        )
        return Finetuning(settings, teacher, context.training_set(lr_patch_size=patch))

    @staticmethod
    def _validator(context: StageContext, config: PruneStageConfig) -> Callable[[SRModel], float] | None:
        """The first validation folder's PSNR, when the stage stops at a drop (``max_drop``)."""
        if config.max_drop is None:
            return None
        from distillsr.compression.pruning.finetune import make_validator

        recipe = context.recipe
        return make_validator(recipe.data.val.folders[0], recipe.model.scale, recipe.data.val.protocol,
                              recipe.data.train.degradation)
