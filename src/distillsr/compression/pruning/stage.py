"""``kind: prune``: :func:`~.iterative.prune_iteratively` (or exact group widths) inside a recipe.

The stage works on the network the previous stages left (it must be folded: prune after
``reparameterize``), ranks channels on 16 of the recipe's own training patches (its degradation,
so a BD or DN recipe is ranked, fine-tuned and validated on BD or DN), fine-tunes between steps on
those patches (towards the stage's teacher, else the unpruned network's own output, else the
ground truth), stops the run when a step falls below bicubic on the calibration patches, and
hands the smaller network on. Its pruned layer widths
become part of every later model file's hyperparameters (``pruned_widths``), so ``eval``,
``upscale``, ``export`` and ``convert`` load the result like any zoo model; on resume the widths
are re-applied from the stage's record before the saved weights are loaded.

A prune stage has no resumable state of its own: interrupted, it starts again from the folded
network (its steps are short next to the training stages around it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from distillsr.compression.pruning.iterative import PruneStep, PruneTarget, prune_iteratively
from distillsr.errors import DistillsrError
from distillsr.training.recipe.prune import PruneStageConfig
from distillsr.training.stages.base import StageKind, StageResult
from distillsr.training.stages.context import StageContext

PRUNED_WIDTHS = "pruned_widths"


class PruneStage(StageKind):
    """Remove filters step by step (fine-tuning between steps) until the stage's target."""

    config = PruneStageConfig

    def run(
        self, context: StageContext, index: int, config: PruneStageConfig, network: nn.Module, resume: dict | None
    ) -> StageResult:
        from distillsr.compression.pruning.surgery import layer_widths
        from distillsr.nn.reparam import is_deployed

        label = config.label(index)
        if not is_deployed(network):
            raise DistillsrError(f"stage {index} ({label}): prune a folded network; add a reparameterize stage before it")
        from distillsr.compression.pruning.calibration import CalibrationSet, QualityFloor, make_criterion

        model = context.sr_model(network.eval())
        finetune = self._finetuner(context, config, model) if config.finetune_iterations else None
        say = context.logger.info if context.process.is_main else (lambda message: None)
        calibration = CalibrationSet.from_dataset(context.training_set(in_memory=False), source="the recipe's training patches")
        floor = QualityFloor(calibration) if config.bicubic_floor else None

        def report(step: PruneStep) -> None:
            psnr = f", PSNR {step.psnr:.3f} dB" if step.psnr is not None else ""
            calibrated = f", {step.calibration_psnr:.2f} dB on the calibration patches" if step.calibration_psnr is not None else ""
            say(f"[{label} step {step.index}] {step.params:,} params, {step.macs / 1e9:.3f} GMACs at 3x256x256{psnr}{calibrated}")

        criterion = make_criterion(config.criterion, calibration, context.input_range)
        if config.widths:
            pruned, steps = self._to_widths(model, config, finetune, report, criterion, floor)
        else:
            target = PruneTarget(config.target_params, config.target_macs, config.max_drop)
            result = prune_iteratively(
                model, config.step, target, finetune, self._validator(context, config),
                criterion=criterion, on_step=report, floor=floor,
            )
            pruned, steps = result.model.network, result.steps
            say(f"[{label}] kept step {result.kept}: {result.stopped}")
        widths = layer_widths(pruned)
        context.model_kwargs[PRUNED_WIDTHS] = widths  # model files written from now on describe the pruned layers
        last = steps[-1]
        metrics = {"params": float(last.params), "macs": float(last.macs)}
        validate = context.validator(label, len(steps) - 1)
        if validate is not None:
            metrics.update(validate(pruned, len(steps) - 1))
        iterations = config.finetune_iterations * (len(steps) - 1)
        return StageResult(pruned.train(), metrics, iterations, record={PRUNED_WIDTHS: widths},
                           model_kwargs={PRUNED_WIDTHS: widths})

    def replay(self, network: nn.Module, config: PruneStageConfig, record: Mapping[str, Any] | None = None) -> nn.Module:
        from distillsr.compression.pruning.surgery import apply_widths

        if not record or PRUNED_WIDTHS not in record:
            raise DistillsrError("the training state does not say how this prune stage narrowed the network")
        apply_widths(network, dict(record[PRUNED_WIDTHS]), "the resumed network")
        return network

    # --- the pieces ---------------------------------------------------------------------------

    @staticmethod
    def _to_widths(model, config: PruneStageConfig, finetune, report, criterion=None, floor=None):
        """Exact group widths, approached in equal parts of at most ``step`` of each group's width per step."""
        import math

        from distillsr.compression.pruning.groups import example_input, find_groups, prunable_groups
        from distillsr.compression.pruning.iterative import measure_step
        from distillsr.compression.pruning.plan import prune_to_widths

        network = model.network
        example = example_input(network, model.in_channels or 3, max(32, model.min_size * 2))
        groups = {group.name: group.width for group in prunable_groups(find_groups(network, example))}
        goal = config.widths_for(list(groups))
        count = max(math.ceil((groups[name] - width) / (groups[name] * config.step)) for name, width in goal.items())
        steps = [measure_step(model, 0, 0.0, None, floor)]
        report(steps[0])
        for index in range(1, max(count, 1) + 1):
            widths = {name: groups[name] - round((groups[name] - width) * index / count) for name, width in goal.items()}
            prune_to_widths(network, widths, example, criterion(network) if criterion is not None else None)
            if finetune is not None:
                finetune(model, index)
                network.eval()
            steps.append(measure_step(model, index, 0.0, None, floor))
            report(steps[-1])
        return network, steps

    @staticmethod
    def _finetuner(context: StageContext, config: PruneStageConfig, model):
        """ψ on the recipe's own patches (its degradation), towards the teacher, the unpruned network, or HR."""
        import copy
        import dataclasses

        from distillsr.compression.pruning.finetune import FinetuneSettings, make_finetuner

        train = context.recipe.data.train
        teacher = None
        if config.teacher is not None:
            from distillsr.compression.distill.teacher import load_teacher
            from distillsr.devices import resolve_device

            device = resolve_device(config.teacher.device) if config.teacher.device else context.device
            teacher = load_teacher(config.teacher.name, config.teacher.weights,
                                   scale=context.recipe.model.scale, device=device).model
        elif config.self_teacher:
            teacher = dataclasses.replace(model, network=copy.deepcopy(model.network).eval())
        patch = config.lr_patch_size or train.lr_patch_size
        settings = FinetuneSettings(
            hr_folders=tuple(train.hr_folders), iterations=config.finetune_iterations,
            batch_size=config.batch_size or train.batch_size, lr_patch_size=patch,
            lr=config.lr, loss=config.loss, seed=context.recipe.seed,
            print_every=max(1, config.finetune_iterations // 2),
        )
        return make_finetuner(settings, context.recipe.model.scale, context.device, teacher,
                              dataset=context.training_set(lr_patch_size=patch))

    @staticmethod
    def _validator(context: StageContext, config: PruneStageConfig):
        if config.max_drop is None:
            return None
        from distillsr.compression.pruning.finetune import make_validator

        recipe = context.recipe
        return make_validator(recipe.data.val.folders[0], recipe.model.scale, recipe.data.val.protocol,
                              recipe.data.train.degradation)
