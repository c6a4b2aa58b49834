"""ψ, the fine-tuning between pruning steps, built from the training engine's own pieces.

The patches come from a :class:`~distillsr.data.training.PairedTrainingSet` (a recipe's own, with
its degradation, or one made from HR folders) through the resumable loader, and every step runs :func:`~distillsr.training.loop.run_loop`: the same loop, losses and
schedules as ``distillsr train``, with none of a recipe's files. One batch stream serves all
steps, so consecutive fine-tunes see new patches rather than the same first ones again.

With a teacher the target is the teacher's SR of the LR patch ("enhanced HR", output
distillation): the teacher is frozen, in eval mode, and runs without gradients.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from distillsr.console import get_logger
from distillsr.errors import DistillsrError
from distillsr.models.sr_model import SRModel

log = get_logger(__name__)


@dataclass(frozen=True)
class FinetuneSettings:
    """ψ's length and optimisation (Adam, cosine decay to 1 % of ``lr`` within each step)."""

    hr_folders: tuple[str, ...]
    iterations: int
    batch_size: int = 16
    lr_patch_size: int = 48
    lr: float = 1e-4
    loss: str = "l1"
    seed: int = 0
    print_every: int = 100


def _training_set(settings: FinetuneSettings, scale: int):
    from distillsr.data.training import PairedTrainingSet
    from distillsr.imaging.listing import list_images

    images = sum(len(list_images(folder)) for folder in settings.hr_folders)
    if images == 0:
        raise DistillsrError(f"no training images in {', '.join(settings.hr_folders)}")
    repeat = max(1, math.ceil(settings.batch_size / images))  # a tiny folder still fills a batch
    dataset = PairedTrainingSet(
        list(settings.hr_folders), scale, lr_patch_size=settings.lr_patch_size, repeat=repeat, seed=settings.seed
    )
    if len(dataset) < settings.batch_size:
        raise DistillsrError(
            f"only {len(dataset)} usable training patches in {', '.join(settings.hr_folders)} for a batch of "
            f"{settings.batch_size}; the images may be smaller than the {settings.lr_patch_size * scale}px HR patch"
        )
    return dataset


def teacher_forward(teacher: SRModel) -> Callable:
    """A loop forward whose target is ``teacher``'s output for the batch's LR patches."""
    from distillsr.training.losses import StepOutputs

    teacher.network.eval()
    for parameter in teacher.network.parameters():
        parameter.requires_grad_(False)

    def forward(model: torch.nn.Module, batch: dict) -> StepOutputs:
        with torch.no_grad():
            target = teacher(batch["lr"].to(teacher.device)).clamp(0, 1).to(batch["lr"].device)
        return StepOutputs(lr=batch["lr"], hr=target, sr=model(batch["lr"]))

    return forward


def make_finetuner(
    settings: FinetuneSettings, scale: int, device: torch.device, teacher: SRModel | None = None, *, dataset=None
) -> Callable[[SRModel, int], dict]:
    """``finetune(model, step)``: ``settings.iterations`` of training on ``model`` in place.

    ``dataset``: the patches to train on (a recipe passes its own, so a BD or DN recipe fine-tunes
    on its degradation); None makes BI patches of ``settings.hr_folders``.
    """
    from distillsr.data.loader import iterate_batches, make_loader
    from distillsr.training.loop import (
        LoopHooks,
        LoopSettings,
        ScaledInput,
        StepRecipe,
        build_optimizer,
        run_loop,
    )
    from distillsr.training.losses import PixelLoss
    from distillsr.training.schedules import Schedule

    if settings.iterations < 1:
        raise DistillsrError(f"fine-tuning needs at least one iteration, got {settings.iterations}")
    if dataset is None:
        for folder in settings.hr_folders:
            if not Path(folder).is_dir():
                raise DistillsrError(f"training folder {folder} does not exist")
        dataset = _training_set(settings, scale)
    loader, sampler = make_loader(dataset, settings.batch_size, seed=settings.seed)
    batches = iterate_batches(loader, sampler)
    recipe = StepRecipe([PixelLoss(settings.loss)], teacher_forward(teacher) if teacher is not None else None)
    schedule = Schedule("cosine", settings.lr, settings.iterations, min_lr=settings.lr * 0.01)

    def finetune(model: SRModel, step: int) -> dict:
        network = model.network.to(device)
        trained = ScaledInput(network, model.input_range) if model.input_range != 1.0 else network
        optimizer = build_optimizer("adam", network.parameters(), lr=settings.lr)

        def report(iteration: int, metrics: dict) -> None:
            if "loss" in metrics:
                log.info(f"  fine-tune after step {step}: iteration {iteration}/{settings.iterations}, "
                         f"{settings.loss} loss {metrics['loss']:.5f}")

        loop = LoopSettings(iterations=settings.iterations, schedule=schedule, print_every=settings.print_every)
        metrics = run_loop(trained, batches, sampler, optimizer, recipe, loop, LoopHooks(log=report), device=device)
        network.eval()
        return metrics

    return finetune


def make_validator(folder: str, scale: int, protocol: str = "classic", degradation: str = "BI") -> Callable[[SRModel], float]:
    """Mean PSNR of a model on one benchmark folder (LR made by ``degradation``, or stored LR)."""
    from distillsr.data.eval_sets import EvalSet
    from distillsr.data.lr_cache import LRCache
    from distillsr.evaluation.runner import evaluate_set
    from distillsr.imaging.degrade import get_degradation
    from distillsr.metrics.protocols import get_protocol

    scoring = get_protocol(protocol)
    benchmark = EvalSet(folder, scale, get_degradation(degradation, scale), cache=LRCache())

    def validate(model: SRModel) -> float:
        model.network.eval()
        with torch.no_grad():
            return float(evaluate_set(model, benchmark, scoring, progress=False).mean.psnr)

    return validate
