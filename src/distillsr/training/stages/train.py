"""``kind: train``: supervised training on (LR, HR) patches, and the base of every stage that trains.

:class:`TrainStage` runs :func:`distillsr.training.loop.run_loop` with the stage's optimizer,
schedule, EMA, patches and loss terms, resumable at any iteration. A stage that trains differently
(distillation: other loss terms, a teacher, adapters) subclasses it and overrides the hooks:

* :meth:`TrainStage.step_recipe` — the loss terms and how a batch becomes a
  :class:`~distillsr.training.losses.StepOutputs` (default: pixel losses on ``model(lr)``);
* :meth:`TrainStage.forward` — what one forward pass of the network and the stage's
  :meth:`~distillsr.training.stages.base.StageKind.owned_modules` computes (only used when the
  stage owns modules: it runs inside the module DDP wraps);
* :meth:`TrainStage.begin` — change the network before the optimizer and the weight average are
  made from it (e.g. reorder its channels), once its starting weights are in place;
* :meth:`TrainStage.prepare` — work before the first iteration, on a fresh start or a resume
  (e.g. load a teacher);
* :meth:`TrainStage.model_kwargs` — hyperparameters that describe the network this stage trains
  (e.g. the widths a csd stage trains): its own model files carry them, and so does its result;
* :meth:`TrainStage.validator` — how a validation check scores the network (default: the
  context's validator; a slimmable stage scores every width, only one of which keeps the best).

The network starts from the previous stage's weights, or from ``init:`` (a checkpoint or an
official file, :mod:`~distillsr.training.stages.init_weights`) on a fresh start of the stage; a
resumed stage restores its own state instead. Progressive learning is a chain of such stages,
each with its own patch size, loss terms and learning rate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from distillsr.training.loop import (
    LoopSettings,
    ScaledInput,
    StepRecipe,
    WithOwnedModules,
    build_optimizer,
    restore_loop_state,
    run_loop,
)
from distillsr.training.losses import PixelLoss
from distillsr.training.recipe.stages import TrainStageConfig
from distillsr.training.schedules import Schedule
from distillsr.training.stages.base import StageKind, StageResult
from distillsr.training.stages.context import StageContext


class TrainStage(StageKind):
    """Pixel losses on (LR, HR) patches; subclasses change the losses, the forward pass, the modules."""

    # --- hooks for stages that train differently ----------------------------------------------

    def step_recipe(
        self, context: StageContext, config: TrainStageConfig, network: nn.Module, owned: dict[str, nn.Module]
    ) -> StepRecipe:
        """The loss terms, and how a batch becomes the values they read (default: ``sr = model(lr)``)."""
        return StepRecipe([PixelLoss(term.type, term.weight, term.eps) for term in config.losses])

    def forward(self, network: nn.Module, owned: nn.ModuleDict, lr: torch.Tensor) -> Any:
        """One forward pass of the network and the owned modules: what ``model(lr)`` returns in a step."""
        return network(lr)

    def begin(self, context: StageContext, config: TrainStageConfig, network: nn.Module, resume: dict | None) -> None:
        """Change ``network`` in place before the optimizer and EMA see it; the default changes nothing.

        Called once the starting weights are loaded (``init:`` or the previous stage's). A resumed
        stage loads its saved weights after this, so a change here only matters on a fresh start.
        """

    def prepare(self, context: StageContext, config: TrainStageConfig, network: nn.Module, resume: dict | None) -> None:
        """Work before the first iteration (fresh start and resume alike); the default has none."""

    def model_kwargs(self, context: StageContext, config: TrainStageConfig) -> dict[str, Any] | None:
        """Hyperparameters that describe the network from this stage on, over the finished stages'.

        Written into the stage's own model files (``best``, ``last``) and returned as
        :attr:`~distillsr.training.stages.base.StageResult.model_kwargs` for every file after it.
        The default (None) leaves the description as it is.
        """
        return None

    def validator(
        self, context: StageContext, config: TrainStageConfig, label: str, total: int,
        model_kwargs: Mapping[str, Any] | None,
    ) -> Callable[[nn.Module, int], dict] | None:
        """``validate(network, iteration) -> scores`` for the loop's checks, or None without validation.

        The default is :meth:`StageContext.validator`: one console line per check, and the best
        first-set PSNR written to ``best.safetensors`` (described with ``model_kwargs``).
        """
        return context.validator(label, total, model_kwargs=model_kwargs)

    # --- the stage --------------------------------------------------------------------------

    def run(
        self, context: StageContext, index: int, config: TrainStageConfig, network: nn.Module, resume: dict | None
    ) -> StageResult:
        from distillsr.training.ema import WeightAverage
        from distillsr.training.stages.init_weights import load_initial_weights

        if resume is None and config.init is not None:  # a resumed stage's own state replaces these weights
            load_initial_weights(
                context, network, config.init, strict=config.strict, where=f"stages.{index}.init", scale=config.init_scale
            )
        self.begin(context, config, network, resume)
        if config.channels_last:
            network = network.to(memory_format=torch.channels_last)
        owned = {name: module.to(context.device) for name, module in self.owned_modules(context, config, network).items()}
        optimizer_cfg, scheduler_cfg = config.optimizer, config.scheduler
        parameters = [*network.parameters(), *(p for m in owned.values() for p in m.parameters())] if owned else network.parameters()
        optimizer = build_optimizer(
            optimizer_cfg.type, parameters, lr=optimizer_cfg.lr, betas=optimizer_cfg.betas,
            weight_decay=optimizer_cfg.weight_decay, eps=optimizer_cfg.eps,
        )
        schedule = Schedule(
            scheduler_cfg.type, optimizer_cfg.lr, config.iterations, tuple(scheduler_cfg.milestones), scheduler_cfg.gamma,
            scheduler_cfg.step_size or 0, scheduler_cfg.warmup_iterations, scheduler_cfg.min_lr,
        )
        ema = WeightAverage(network, config.ema_decay) if config.ema_decay else None
        batches, sampler = context.patch_loader(0, lr_patch_size=config.lr_patch_size, batch_size=config.batch_size)
        start = 0
        if resume is not None:  # the batch stream is lazy: it starts wherever the restored sampler stands
            start = restore_loop_state(resume, network, optimizer, sampler, ema)
            if owned:
                self.restore_owned(owned, resume)
        self.prepare(context, config, network, resume)
        input_range = context.input_range
        model = ScaledInput(network, input_range) if input_range != 1.0 else network
        if owned:
            model = WithOwnedModules(model, owned, self.forward)
        model = context.wrap_distributed(model)
        logging = context.recipe.logging
        settings = LoopSettings(
            iterations=config.iterations, schedule=schedule, grad_clip=config.grad_clip, ema_decay=config.ema_decay,
            amp=config.amp, channels_last=config.channels_last, print_every=logging.print_every,
            validate_every=context.recipe.data.val.every, checkpoint_every=context.recipe.checkpoint.every,
        )
        extra_state = (lambda: {"owned": self.owned_state(owned)}) if owned else None
        label, described = config.label(index), self.model_kwargs(context, config)
        hooks = context.loop_hooks(
            index, label, config.iterations, validate=self.validator(context, config, label, config.iterations, described),
            form=context.form_of(network), extra_state=extra_state, model_kwargs=described,
        )
        step = self.step_recipe(context, config, network, owned)
        with context.interruptible():
            metrics = run_loop(model, batches, sampler, optimizer, step, settings, hooks,
                               device=context.device, start_iteration=start, ema=ema,
                               running=resume.get("running") if resume is not None else None)
        if ema is not None:  # later stages and the final model continue from the averaged weights
            network.load_state_dict(ema.state_dict())
        return StageResult(network, metrics, config.iterations - start, model_kwargs=described)
